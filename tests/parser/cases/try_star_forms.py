try:
    work()
except* ValueError as e:
    log(e)
except* (TypeError, KeyError):
    pass
else:
    done()
for x in y:
    try:
        pass
    except* OSError as err:
        for i in err.exceptions:
            continue
        while True:
            break
        def f():
            return 1
try:
    pass
except *ValueError:
    pass
finally:
    cleanup()
