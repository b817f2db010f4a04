lambda: 0
lambda x: x
lambda x, y=1: x
lambda *a, **k: 0
lambda a, /, b, *, c: 0
lambda *, a=1: a
f = lambda x: lambda y: x + y
