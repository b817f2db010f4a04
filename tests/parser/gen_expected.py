#!/usr/bin/env python3
# Regenerate tests/parser/cases/*.ast from python3 (CPython 3.11 is the oracle).
# Usage: python3 gen_expected.py [cases_dir]
import ast
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
cases = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "cases")
for name in sorted(os.listdir(cases)):
    if not name.endswith(".py"):
        continue
    path = os.path.join(cases, name)
    with open(path, "rb") as f:
        src = f.read()
    try:
        tree = ast.parse(src)
        out = ast.dump(tree)
        # Eddy rejects match statements (not supported yet) at the `match`.
        for node in ast.walk(tree):
            if isinstance(node, ast.Match):
                out = "SyntaxError: 'match' statements are not supported yet (line %d, col %d)" % (
                    node.lineno, node.col_offset + 1)
                break
    except SyntaxError as e:
        out = "%s: %s (line %s, col %s)" % (type(e).__name__, e.msg, e.lineno, e.offset)
    except (MemoryError, RecursionError, ValueError) as e:
        out = "SyntaxError: too complex to parse (nesting too deep)"
    with open(path[:-3] + ".ast", "w", encoding="utf-8") as f:
        f.write(out + "\n")
