// test_types.c - the object model through its C API (vm/obj_type.c,
// vm/obj_object.c, vm/ops.c, vm/obj_func.c, vm/obj_exc.c): C3 MROs, class
// creation errors, attribute look-up and the method cache, slot shims,
// abstract operations and exception objects.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"
#include "opcodes.h"

static EddyVM *vm;

static void setup(void) {
    vm = vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
}

static void teardown(void) { vm_free(vm); }

static StrObject *S(const char *s) { return str_intern_cstr(vm, s); }

// class <name>(*bases): with an empty namespace, or NULL + exception.
static TypeObject *make_class(const char *name, TypeObject **bases, size_t n) {
    Value items[8];
    memset(items, 0, sizeof items);
    for (size_t i = 0; i < n; i++) items[i] = v_obj(bases[i]);
    TupleObject *t = tuple_from(vm, items, n);
    DictObject *ns = dict_new(vm);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(ns);
    return type_new_class(vm, vm->t_type, S(name), t, ns);
}

static void assert_mro(TypeObject *t, const char *expect) {
    char buf[256] = "";
    for (size_t i = 0; i < t->mro->len; i++) {
        if (i) strcat(buf, " ");
        strcat(buf, AS_TYPE(t->mro->items[i])->name->data);
    }
    ck_assert_str_eq(buf, expect);
}

static const char *pending_message(void) {
    ck_assert(vm_err_occurred(vm));
    Value e = vm_err_fetch(vm);
    Value s = vm_str(vm, e);
    ck_assert(!IS_NULL(s));
    return AS_STR(s)->data;
}

START_TEST(test_builtin_mros) {
    assert_mro(vm->t_object, "object");
    assert_mro(vm->t_bool, "bool int object");
    assert_mro(vm->t_type, "type object");
    assert_mro(vm->exc_KeyError, "KeyError LookupError Exception BaseException object");
    assert_mro(vm->exc_ExceptionGroup,
               "ExceptionGroup BaseExceptionGroup Exception BaseException object");
    ck_assert(type_is_subtype(vm->t_bool, vm->t_int));
    ck_assert(!type_is_subtype(vm->t_int, vm->t_bool));
    ck_assert(type_is_subtype(vm->exc_FileNotFoundError, vm->exc_OSError));
}
END_TEST

START_TEST(test_c3_diamond) {
    TypeObject *a = make_class("A", NULL, 0);
    TypeObject *b = make_class("B", (TypeObject *[]){a}, 1);
    TypeObject *c = make_class("C", (TypeObject *[]){a}, 1);
    TypeObject *d = make_class("D", (TypeObject *[]){b, c}, 2);
    ck_assert_ptr_nonnull(d);
    assert_mro(d, "D B C A object");
    ck_assert(d->flags & TPF_HEAPTYPE);
    ck_assert_ptr_eq(d->base, b);
}
END_TEST

START_TEST(test_c3_paper_example) {
    TypeObject *o = make_class("O", NULL, 0);
    TypeObject *f = make_class("F", (TypeObject *[]){o}, 1);
    TypeObject *e = make_class("E", (TypeObject *[]){o}, 1);
    TypeObject *dd = make_class("D", (TypeObject *[]){o}, 1);
    TypeObject *c = make_class("C", (TypeObject *[]){dd, f}, 2);
    TypeObject *b = make_class("B", (TypeObject *[]){dd, e}, 2);
    TypeObject *a = make_class("A", (TypeObject *[]){b, c}, 2);
    ck_assert_ptr_nonnull(a);
    assert_mro(a, "A B C D E F O object");
}
END_TEST

START_TEST(test_mro_conflict) {
    TypeObject *x = make_class("X", NULL, 0);
    TypeObject *y = make_class("Y", NULL, 0);
    TypeObject *z = make_class("Z", (TypeObject *[]){x, y}, 2);
    TypeObject *w = make_class("W", (TypeObject *[]){y, x}, 2);
    ck_assert_ptr_null(make_class("Bad", (TypeObject *[]){z, w}, 2));
    ck_assert_str_eq(pending_message(),
                     "Cannot create a consistent method resolution\norder (MRO) for bases X, Y");
    TypeObject *sub = make_class("Sub", (TypeObject *[]){x}, 1);
    ck_assert_ptr_null(make_class("Bad2", (TypeObject *[]){x, sub}, 2));
    ck_assert_str_eq(pending_message(),
                     "Cannot create a consistent method resolution\norder (MRO) for bases X, Sub");
    ck_assert_ptr_null(make_class("Dup", (TypeObject *[]){x, x}, 2));
    ck_assert_str_eq(pending_message(), "duplicate base class X");
}
END_TEST

START_TEST(test_bad_bases) {
    ck_assert_ptr_null(make_class("B", (TypeObject *[]){vm->t_bool}, 1));
    ck_assert_str_eq(pending_message(), "type 'bool' is not an acceptable base type");
    ck_assert_ptr_null(make_class("LD", (TypeObject *[]){vm->t_list, vm->t_dict}, 2));
    ck_assert_str_eq(pending_message(), "multiple bases have instance lay-out conflict");
}
END_TEST

START_TEST(test_layouts) {
    TypeObject *plain = make_class("P", NULL, 0);
    ck_assert_uint_eq(plain->instance_size, sizeof(InstanceObject));
    ck_assert_int_eq(plain->dict_offset, (int32_t)offsetof(InstanceObject, dict));
    ck_assert_ptr_eq(plain->layout, vm->t_object);
    TypeObject *err = make_class("E", (TypeObject *[]){vm->exc_ValueError}, 1);
    ck_assert_int_eq(err->dict_offset, (int32_t)offsetof(ExceptionObject, dict));
    ck_assert(err->flags & TPF_EXC_SUBCLASS);
    TypeObject *l = make_class("L", (TypeObject *[]){vm->t_list}, 1);
    ck_assert(l->flags & TPF_LIST_SUBCLASS);
    ck_assert_int_lt(l->dict_offset, 0);
    ck_assert_uint_ge(l->instance_size, sizeof(ListObject) + sizeof(DictObject *));
    // Both exception bases share one layout: no conflict.
    TypeObject *ke = make_class("KE", (TypeObject *[]){vm->exc_KeyError, vm->exc_TypeError}, 2);
    ck_assert_ptr_nonnull(ke);
}
END_TEST

START_TEST(test_lookup_and_cache) {
    TypeObject *a = make_class("A", NULL, 0);
    TypeObject *b = make_class("B", (TypeObject *[]){a}, 1);
    StrObject *name = S("attr");
    ck_assert(IS_NULL(type_lookup(vm, b, name)));
    // Setting on the base must invalidate the subclass's cached miss.
    ck_assert_int_eq(vm_setattr(vm, v_obj(a), name, v_int(1)), 0);
    Value v = type_lookup(vm, b, name);
    ck_assert(IS_INT(v) && AS_INT(v) == 1);
    ck_assert_int_eq(vm_setattr(vm, v_obj(b), name, v_int(2)), 0);
    v = type_lookup(vm, b, name);
    ck_assert(IS_INT(v) && AS_INT(v) == 2);
    ck_assert_int_eq(vm_setattr(vm, v_obj(b), name, VAL_NULL), 0);
    v = type_lookup(vm, b, name);
    ck_assert(IS_INT(v) && AS_INT(v) == 1);
    // Builtin look-ups through the MRO.
    ck_assert(!IS_NULL(type_lookup(vm, vm->t_bool, vm->names.__repr__)));
    ck_assert(!IS_NULL(type_lookup(vm, b, vm->names.__init__)));
}
END_TEST

START_TEST(test_instance_attributes) {
    TypeObject *c = make_class("C", NULL, 0);
    Value obj = vm_call(vm, v_obj(c), NULL, 0, NULL);
    ck_assert(!IS_NULL(obj));
    ck_assert_ptr_eq(vm_type_of(vm, obj), c);
    StrObject *x = S("x");
    ck_assert_int_eq(vm_setattr(vm, obj, x, v_int(5)), 0);
    Value r = vm_getattr(vm, obj, x);
    ck_assert(IS_INT(r) && AS_INT(r) == 5);
    Value out;
    ck_assert_int_eq(vm_getattr_opt(vm, obj, S("missing"), &out), 0);
    ck_assert(!vm_err_occurred(vm));
    ck_assert(IS_NULL(vm_getattr(vm, obj, S("missing"))));
    ck_assert_str_eq(pending_message(), "'C' object has no attribute 'missing'");
    // A class attribute is visible through the instance until shadowed.
    ck_assert_int_eq(vm_setattr(vm, v_obj(c), S("k"), v_int(1)), 0);
    r = vm_getattr(vm, obj, S("k"));
    ck_assert(IS_INT(r) && AS_INT(r) == 1);
    ck_assert_int_eq(vm_setattr(vm, v_int(3), x, v_int(1)), -1);
    ck_assert_str_eq(pending_message(), "'int' object has no attribute 'x'");
    ck_assert_int_eq(vm_setattr(vm, v_obj(vm->t_int), x, v_int(1)), -1);
    ck_assert_str_eq(pending_message(), "cannot set 'x' attribute of immutable type 'int'");
    ck_assert(IS_NULL(vm_call(vm, v_obj(c), &obj, 1, NULL)));
    ck_assert_str_eq(pending_message(), "C() takes no arguments");
}
END_TEST

static Value native_repr(EddyVM *v, Value *args, int nargs, TupleObject *kw) {
    return v_obj(str_from_cstr(v, "custom!"));
}

static Value native_len(EddyVM *v, Value *args, int nargs, TupleObject *kw) { return v_int(7); }

START_TEST(test_dunder_shims) {
    TypeObject *c = make_class("C", NULL, 0);
    Value obj = vm_call(vm, v_obj(c), NULL, 0, NULL);
    Value r = vm_repr(vm, obj);
    ck_assert(!IS_NULL(r));
    ck_assert(strncmp(AS_STR(r)->data, "<__main__.C object at 0x", 24) == 0 ||
              strncmp(AS_STR(r)->data, "<builtins.C object", 18) == 0 ||
              strncmp(AS_STR(r)->data, "<C object at", 12) == 0);
    ck_assert_int_eq(vm_len(vm, obj), -1);
    ck_assert_str_eq(pending_message(), "object of type 'C' has no len()");
    // Setting dunders on the class installs shim slots.
    NativeFunctionObject *f = native_new(vm, "__repr__", native_repr, VAL_NULL, NATIVE_METHOD);
    NativeFunctionObject *g = native_new(vm, "__len__", native_len, VAL_NULL, NATIVE_METHOD);
    ck_assert_int_eq(vm_setattr(vm, v_obj(c), vm->names.__repr__, v_obj(f)), 0);
    ck_assert_int_eq(vm_setattr(vm, v_obj(c), vm->names.__len__, v_obj(g)), 0);
    r = vm_repr(vm, obj);
    ck_assert_str_eq(AS_STR(r)->data, "custom!");
    r = vm_str(vm, obj);
    ck_assert_str_eq(AS_STR(r)->data, "custom!");
    ck_assert_int_eq(vm_len(vm, obj), 7);
    ck_assert_int_eq(vm_truthy(vm, obj), 1);
    // A subclass created before or after inherits the shims.
    TypeObject *d = make_class("D", (TypeObject *[]){c}, 1);
    Value dobj = vm_call(vm, v_obj(d), NULL, 0, NULL);
    ck_assert_int_eq(vm_len(vm, dobj), 7);
    // __hash__ = None makes instances unhashable.
    int64_t h;
    ck_assert_int_eq(vm_hash(vm, obj, &h), 0);
    ck_assert_int_eq(vm_setattr(vm, v_obj(c), vm->names.__hash__, VAL_NONE), 0);
    ck_assert_int_eq(vm_hash(vm, dobj, &h), -1);
    ck_assert_str_eq(pending_message(), "unhashable type: 'D'");
}
END_TEST

START_TEST(test_abstract_ops) {
    Value r = vm_binary_op(vm, BINOP_ADD, v_int(2), v_int(3));
    ck_assert(IS_INT(r) && AS_INT(r) == 5);
    r = vm_binary_op(vm, BINOP_MUL, v_float(1.5), v_int(2));
    ck_assert(IS_FLOAT(r) && AS_FLOAT(r) == 3.0);
    ck_assert(IS_NULL(vm_binary_op(vm, BINOP_ADD, v_int(1), v_obj(S("a")))));
    ck_assert_str_eq(pending_message(), "unsupported operand type(s) for +: 'int' and 'str'");
    ck_assert(IS_NULL(vm_binary_op(vm, BINOP_INPLACE(BINOP_POW), v_int(1), VAL_NONE)));
    ck_assert_str_eq(pending_message(),
                     "unsupported operand type(s) for **=: 'int' and 'NoneType'");
    ck_assert(IS_NULL(vm_compare(vm, v_int(1), v_obj(S("a")), CMP_LT)));
    ck_assert_str_eq(pending_message(), "'<' not supported between instances of 'int' and 'str'");
    ck_assert_int_eq(vm_compare_bool(vm, v_int(1), v_float(1.0), CMP_EQ), 1);
    ck_assert_int_eq(vm_eq(vm, VAL_NONE, VAL_NONE), 1);
    ck_assert_int_eq(vm_eq(vm, VAL_NONE, v_int(0)), 0);
    ck_assert(IS_NULL(vm_unary_op(vm, OP_UNARY_NEGATIVE, v_obj(S("s")))));
    ck_assert_str_eq(pending_message(), "bad operand type for unary -: 'str'");
    ck_assert(IS_NULL(vm_getitem(vm, v_int(1), v_int(0))));
    ck_assert_str_eq(pending_message(), "'int' object is not subscriptable");
    ck_assert(IS_NULL(vm_iter(vm, v_int(1))));
    ck_assert_str_eq(pending_message(), "'int' object is not iterable");
    ck_assert_int_eq(vm_contains(vm, v_int(1), v_int(1)), -1);
    ck_assert_str_eq(pending_message(), "argument of type 'int' is not iterable");
    int64_t h;
    ListObject *l = list_new(vm, 0);
    ck_assert_int_eq(vm_hash(vm, v_obj(l), &h), -1);
    ck_assert_str_eq(pending_message(), "unhashable type: 'list'");
    ck_assert(IS_NULL(vm_index(vm, v_float(1.5))));
    ck_assert_str_eq(pending_message(), "'float' object cannot be interpreted as an integer");
    ck_assert_str_eq(vm_type_name(vm, VAL_NONE), "NoneType");
    ck_assert_str_eq(vm_type_name(vm, VAL_TRUE), "bool");
    ck_assert_int_eq(vm_truthy(vm, vm->not_implemented), 1);
    r = vm_repr(vm, vm->ellipsis);
    ck_assert_str_eq(AS_STR(r)->data, "Ellipsis");
}
END_TEST

START_TEST(test_isinstance) {
    TypeObject *a = make_class("A", NULL, 0);
    TypeObject *b = make_class("B", (TypeObject *[]){a}, 1);
    Value obj = vm_call(vm, v_obj(b), NULL, 0, NULL);
    ck_assert_int_eq(vm_isinstance(vm, obj, v_obj(a)), 1);
    ck_assert_int_eq(vm_isinstance(vm, obj, v_obj(vm->t_int)), 0);
    TupleObject *t = tuple_from(vm, (Value[]){v_obj(vm->t_int), v_obj(a)}, 2);
    ck_assert_int_eq(vm_isinstance(vm, obj, v_obj(t)), 1);
    ck_assert_int_eq(vm_isinstance(vm, VAL_TRUE, v_obj(vm->t_int)), 1);
    ck_assert_int_eq(vm_isinstance(vm, obj, v_int(2)), -1);
    ck_assert_str_eq(pending_message(),
                     "isinstance() arg 2 must be a type, a tuple of types, or a union");
    ck_assert_int_eq(vm_issubclass(vm, v_obj(b), v_obj(a)), 1);
    ck_assert_int_eq(vm_issubclass(vm, v_int(1), v_obj(a)), -1);
    ck_assert_str_eq(pending_message(), "issubclass() arg 1 must be a class");
}
END_TEST

START_TEST(test_exceptions) {
    Value e = exc_new_msg(vm, vm->exc_KeyError, S("k"));
    ck_assert(is_exception(vm, e));
    ck_assert(is_exception_type(vm, v_obj(vm->exc_ValueError)));
    ck_assert(!is_exception_type(vm, v_obj(vm->t_int)));
    Value s = vm_str(vm, e);
    ck_assert_str_eq(AS_STR(s)->data, "'k'");
    s = vm_repr(vm, e);
    ck_assert_str_eq(AS_STR(s)->data, "KeyError('k')");
    e = exc_new(vm, vm->exc_ValueError, NULL);
    ck_assert_str_eq(AS_STR(vm_str(vm, e))->data, "");
    ck_assert_str_eq(AS_STR(vm_repr(vm, e))->data, "ValueError()");
    TupleObject *args =
        tuple_from(vm, (Value[]){v_int(2), v_obj(S("No such file")), v_obj(S("x.txt"))}, 3);
    e = exc_new(vm, vm->exc_FileNotFoundError, args);
    ck_assert_str_eq(AS_STR(vm_str(vm, e))->data, "[Errno 2] No such file: 'x.txt'");
    ck_assert(is_exception(vm, vm->memory_error));
    ck_assert_ptr_eq(vm_type_of(vm, vm->memory_error), vm->exc_MemoryError);
    // A class deriving from Exception keeps the exception layout.
    TypeObject *mine = make_class("Mine", (TypeObject *[]){vm->exc_Exception}, 1);
    Value m = vm_call(vm, v_obj(mine), (Value[]){v_int(1), v_int(2)}, 2, NULL);
    ck_assert(is_exception(vm, m));
    ck_assert_str_eq(AS_STR(vm_str(vm, m))->data, "(1, 2)");
    ck_assert_int_eq(vm_setattr(vm, m, S("extra"), v_int(9)), 0);
    Value x = vm_getattr(vm, m, S("extra"));
    ck_assert(IS_INT(x) && AS_INT(x) == 9);
}
END_TEST

START_TEST(test_gc_keeps_classes) {
    TypeObject *a = make_class("A", NULL, 0);
    ck_assert_int_eq(vm_push_root(vm, v_obj(a)), 0);
    Value obj = vm_call(vm, v_obj(a), NULL, 0, NULL);
    ck_assert_int_eq(vm_push_root(vm, obj), 0);
    ck_assert_int_eq(vm_setattr(vm, obj, S("payload"), v_obj(list_new(vm, 4))), 0);
    gc_collect(vm);
    gc_collect(vm);
    Value p = vm_getattr(vm, obj, S("payload"));
    ck_assert(!IS_NULL(p) && is_exact(p, vm->t_list));
    ck_assert_ptr_eq(vm_type_of(vm, obj), a);
    ck_assert(!IS_NULL(vm_repr(vm, obj)));
    vm_pop_roots(vm, 2);
}
END_TEST

static Suite *types_suite(void) {
    Suite *s = suite_create("types");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_builtin_mros);
    tcase_add_test(tc, test_c3_diamond);
    tcase_add_test(tc, test_c3_paper_example);
    tcase_add_test(tc, test_mro_conflict);
    tcase_add_test(tc, test_bad_bases);
    tcase_add_test(tc, test_layouts);
    tcase_add_test(tc, test_lookup_and_cache);
    tcase_add_test(tc, test_instance_attributes);
    tcase_add_test(tc, test_dunder_shims);
    tcase_add_test(tc, test_abstract_ops);
    tcase_add_test(tc, test_isinstance);
    tcase_add_test(tc, test_exceptions);
    tcase_add_test(tc, test_gc_keeps_classes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(types_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
