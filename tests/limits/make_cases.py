"""Write the generated limit-test scripts (too big to keep by hand).

Run with python3 from this directory, then tests/tools/gen_expected.sh on
the results to record what CPython 3.11 prints for each.
"""
N = 10000

cases = {
    "deep_parens": "x = " + "(" * N + "1" + ")" * N + "\n",
    "deep_lists": "x = " + "[" * N + "]" * N + "\n",
    "deep_calls_source": "x = " + "f(" * N + ")" * N + "\n",
    "deep_blocks": "".join(" " * i + "if True:\n" for i in range(N)) + " " * N + "pass\n",
    "deep_unary": "x = " + "-" * N + "1\n",
    "deep_not": "x = " + "not " * N + "1\n",
    "deep_attr_chain": "x = " + "a." * N + "b\n",
    "deep_subscripts": "x = a" + "[0]" * N + "\n",
    "long_sum": "x = 1" + " + 1" * 100000 + "\nprint(x)\n",
    "huge_int_literal": "x = " + "1" * 100000 + "\nprint(x)\n",
    "huge_hex_literal": "x = 0x" + "f" * 20000 + "\nprint(x.bit_length())\n",
    "huge_str_literal": "s = '" + "ab" * 500000 + "'\nprint(len(s))\n",
    "many_lines": "".join(f"v{i} = {i}\n" for i in range(50000)) + "print(v49999)\n",
}
for name, src in cases.items():
    with open(name + ".async", "w") as f:
        f.write(src)

with open("invalid_utf8.async", "wb") as f:
    f.write(b"x = 1\n\xff\xfe\nprint(x)\n")
with open("invalid_utf8_in_string.async", "wb") as f:
    f.write(b"print('abc\xc3\x28')\n")
with open("nul_byte.async", "wb") as f:
    f.write(b"x = 1\x00\nprint(x)\n")
