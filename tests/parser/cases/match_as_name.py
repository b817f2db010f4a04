match = 1
match.x = 2
match(1)
print(match)
match[0]
case = 3
_ = match
match, case = 1, 2
