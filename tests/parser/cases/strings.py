'a'
"b"
'''c
d'''
"""e"""
'a' 'b'
'it''s'
"it's"
'say "hi"'
'both \' "'
