if a:
    pass
elif b:
    pass
elif c:
    x = 1
else:
    y = 2
if x: pass
else: pass
if (n := 10) > 5: print(n)
