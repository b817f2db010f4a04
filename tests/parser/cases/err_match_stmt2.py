def f():
    match (a, b):
        case _:
            pass
