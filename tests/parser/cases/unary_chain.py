x = - - + ~ - 1
y = not - x
