while x:
    x -= 1
    if x: break
    else: continue
else:
    pass
for i in range(10):
    pass
for a, b in c:
    pass
else:
    pass
for (a, b) in c: pass
for [a, b] in c: pass
for *a, b in c: pass
for x in 1, 2, 3: pass
for x, in y: pass
for a.b in c: pass
for a[0] in c: pass
