b'abc'
b'\x00\xff'
b'\n\t'
B"x"
b'a' b'b'
b'\u1234'
b"'"
