lambda a, b=1, *c, d=2, e, **f: (a, b, c, d, e, f)
