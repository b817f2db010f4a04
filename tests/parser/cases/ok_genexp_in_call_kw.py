f(x for x in y)
sum(i for i in range(10))
