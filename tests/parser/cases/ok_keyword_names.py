print(end='', sep='', file=x)
