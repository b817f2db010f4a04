pass; pass
x = 1; y = 2;
global a, b
nonlocal c
del a
del a, b
del a[0], b.c
del (a, b)
del [a, b]
assert x
assert x, 'msg'
raise
raise E
raise E from None
return
return 1
return 1, 2
break
continue
