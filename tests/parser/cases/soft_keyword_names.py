def match(case): return case
class case: pass
type = 1
_ = 2
