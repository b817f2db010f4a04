(x := 1)
if (y := f()) is not None: pass
while (line := read()): pass
[z := 1, 2]
f(a := 1)
print((b := 2))
x[y := 1]
