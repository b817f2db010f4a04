import a
import a.b.c
import a as b
import a.b as c, d
from a import b
from a import b as c, d
from a.b import (c, d as e)
from a import (b,)
from . import x
from .. import y
from ... import z
from .... import w
from .m import n
from ..m.n import o
from a import *
