try:
    pass
except* TypeError:
    pass
except:
    pass
