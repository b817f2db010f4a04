f(a, b=1, *c, d=2, **e)
f(**a, b=1)
f(a)(b=2)
dict(a=1, **{'b': 2})
