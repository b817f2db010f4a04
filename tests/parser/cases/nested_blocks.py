def f():
    def g():
        class C:
            def m(self):
                for x in y:
                    while z:
                        if q:
                            try:
                                pass
                            except:
                                pass
    return g
