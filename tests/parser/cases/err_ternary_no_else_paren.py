(a if b)
