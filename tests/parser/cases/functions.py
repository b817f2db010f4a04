def f(): pass
def g(a, b=1, *args, c, d=2, **kw) -> int:
    return a
def h(a, /, b): return
def i(*, a): pass
def j(a: int, b: 'str' = 'x') -> None: ...
def k(a=1, /, b=2): pass
@dec
@dec2(1)
def l(): pass
@a.b.c
class C: pass
