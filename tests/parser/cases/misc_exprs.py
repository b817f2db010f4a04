x = a if b else c
y = [a for a in b if c else d] if e else f
z = lambda: (yield)
