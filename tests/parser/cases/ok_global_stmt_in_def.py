def f():
    global x
    nonlocal y
    x = 1
