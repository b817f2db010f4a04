a and b and c
a or b or c
a and b or c and d
not a
not not a
a if b else c
a if b else c if d else e
