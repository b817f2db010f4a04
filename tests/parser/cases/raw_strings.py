r'\n'
R'\x'
rb'\n'
BR'a'
Rb"\\"
r'\''
