x=1if y else 2
z=[0x1 for x in y]
w=1or 2
