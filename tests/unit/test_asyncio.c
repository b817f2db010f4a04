// test_asyncio.c - the event loop as a host sees it (include/eddy.h only):
// memory limits and runaway programs inside tasks end as exceptions the
// script can handle, every byte is returned when the VM is freed, and VMs
// with their own loops do not share state.
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eddy.h"

#include "counting_alloc.h"

// Run src; the script reports success with SystemExit(0) (any other exit
// code or an exception fails the test).
static void run_expect_exit0(EddyVM *vm, const char *src) {
    EddyStatus st = eddy_run_string(vm, src, "<test>");
    ck_assert_int_eq(st, EDDY_EXIT);
    ck_assert_int_eq(eddy_exit_code(vm), 0);
}

// Tasks keep allocating until the memory limit: the task that hits it gets
// MemoryError, the others are cancelled by the TaskGroup, the loop closes
// cleanly, and a second asyncio.run works in the same VM.
START_TEST(test_memory_limit_in_tasks) {
    EddyConfig config = {0};
    config.memory_limit = (size_t)48 << 20;
    EddyVM *vm = eddy_vm_new(&config);
    ck_assert_ptr_nonnull(vm);
    run_expect_exit0(vm, "import asyncio, sys\n"
                         "async def hog():\n"
                         "    data = []\n"
                         "    while True:\n"
                         "        data.append('x' * 4096)\n"
                         "        if len(data) % 64 == 0:\n"
                         "            await asyncio.sleep(0)\n"
                         "async def idle():\n"
                         "    await asyncio.sleep(3600)\n"
                         "async def main():\n"
                         "    caught = -1\n"
                         "    try:\n"
                         "        async with asyncio.TaskGroup() as tg:\n"
                         "            tg.create_task(idle())\n"
                         "            tg.create_task(hog())\n"
                         "    except* MemoryError as eg:\n"
                         "        caught = len(eg.exceptions)\n"
                         "    return caught\n"
                         "n = asyncio.run(main())\n"
                         "async def again():\n"
                         "    await asyncio.sleep(0)\n"
                         "    return 'fine'\n"
                         "ok = n == 1 and asyncio.run(again()) == 'fine'\n"
                         "sys.exit(0 if ok else 1)\n");
    eddy_vm_free(vm);
}
END_TEST

// An await chain deeper than the recursion limit raises RecursionError in
// the task (never a crash); the loop goes on.
START_TEST(test_deep_await_recursion) {
    EddyVM *vm = eddy_vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    run_expect_exit0(vm, "import asyncio, sys\n"
                         "async def down(n):\n"
                         "    if n == 0:\n"
                         "        await asyncio.sleep(0)\n"
                         "        return 0\n"
                         "    return 1 + await down(n - 1)\n"
                         "async def main():\n"
                         "    ok = await down(500) == 500\n"
                         "    try:\n"
                         "        await down(100000)\n"
                         "        return False\n"
                         "    except RecursionError:\n"
                         "        pass\n"
                         "    t = asyncio.create_task(down(100000))\n"
                         "    try:\n"
                         "        await t\n"
                         "    except RecursionError:\n"
                         "        return ok and await down(10) == 10\n"
                         "    return False\n"
                         "sys.exit(0 if asyncio.run(main()) else 1)\n");
    eddy_vm_free(vm);
}
END_TEST

// Run src on a fresh VM with a counting allocator, stderr silenced (the
// reports and warnings, including those made while the VM is freed), and
// check that every byte went back to the host.
static void check_frees_everything(const char *src) {
    live_bytes = 0;
    EddyConfig config = {0};
    config.alloc = counting_alloc;
    EddyVM *vm = eddy_vm_new(&config);
    ck_assert_ptr_nonnull(vm);
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    EddyStatus st = eddy_run_string(vm, src, "<test>");
    ck_assert_int_eq(st, EDDY_OK);
    eddy_vm_free(vm);
    fclose(stderr);
    stderr = saved;
    ck_assert_uint_eq(live_bytes, 0);
}

// Everything the loop allocates (tasks, timers, ready queue, pending
// timers of a closed loop, unretrieved exceptions) goes back to the host.
START_TEST(test_loop_frees_everything) {
    check_frees_everything(
        "import asyncio\n"
        "async def work(i):\n"
        "    await asyncio.sleep(0.001 * (i % 3))\n"
        "    if i == 7:\n"
        "        raise ValueError(i)\n"
        "    return i\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    loop.call_later(3600, print)\n"
        "    asyncio.create_task(asyncio.sleep(3600))\n"
        "    r = await asyncio.gather(*(work(i) for i in range(50)), return_exceptions=True)\n"
        "    asyncio.create_task(work(7))\n"
        "    await asyncio.sleep(0.01)\n"
        "    return len(r)\n"
        "assert asyncio.run(main()) == 50\n"
        "loop = asyncio.new_event_loop()\n"
        "loop.call_later(10, print)\n"
        "loop.create_task(asyncio.sleep(10))\n");
}
END_TEST

// Debug mode's creation stacks (futures, tasks and handles alive or not
// when the VM goes, coroutine origins) are returned to the host too.
START_TEST(test_debug_mode_frees_everything) {
    check_frees_everything(
        "import asyncio, sys\n"
        "async def work(i):\n"
        "    await asyncio.sleep(0)\n"
        "    if i == 7:\n"
        "        raise ValueError(i)\n"
        "    return i\n"
        "kept = []\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    kept.append(loop.call_later(3600, print))\n"
        "    kept.append(asyncio.Future())\n"
        "    kept.append(work(1))\n"
        "    for i in range(300):\n"
        "        loop.create_future().add_done_callback(print)\n"
        "        loop.call_soon(len, '')\n"
        "    r = await asyncio.gather(*(work(i) for i in range(50)), return_exceptions=True)\n"
        "    asyncio.create_task(work(7))\n"
        "    await asyncio.sleep(0.01)\n"
        "    return len(r)\n"
        "assert asyncio.run(main(), debug=True) == 50\n"
        "assert kept[2].cr_origin is not None\n"
        "sys.set_coroutine_origin_tracking_depth(5)\n"
        "kept.append(work(2))\n"
        "loop = asyncio.new_event_loop()\n"
        "loop.set_debug(True)\n"
        "loop.call_later(10, print)\n"
        "loop.create_task(asyncio.sleep(10))\n");
}
END_TEST

// Debug mode under a memory limit: recording creation stacks is best
// effort, and the MemoryError reaches the script as in normal mode.
START_TEST(test_debug_mode_memory_limit) {
    EddyConfig config = {0};
    config.memory_limit = (size_t)32 << 20;
    EddyVM *vm = eddy_vm_new(&config);
    ck_assert_ptr_nonnull(vm);
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w"); // never-awaited warnings
    run_expect_exit0(vm, "import asyncio, sys\n"
                         "async def hog():\n"
                         "    loop = asyncio.get_running_loop()\n"
                         "    data = []\n"
                         "    while True:\n"
                         "        data.append(loop.create_future())\n"
                         "        data.append(loop.call_soon(len, ''))\n"
                         "        data.append(hog())\n"
                         "        if len(data) % 300 == 0:\n"
                         "            await asyncio.sleep(0)\n"
                         "async def main():\n"
                         "    try:\n"
                         "        await asyncio.create_task(hog())\n"
                         "    except MemoryError:\n"
                         "        return True\n"
                         "    return False\n"
                         "ok = asyncio.run(main(), debug=True)\n"
                         "sys.exit(0 if ok else 1)\n");
    eddy_vm_free(vm);
    fclose(stderr);
    stderr = saved;
}
END_TEST

// A future-like object whose get_loop() or add_done_callback() raises: the
// error is thrown into the awaiting coroutine (CPython reports it and leaves
// the task pending for good, so asyncio.run() then never returns), and a
// task can catch it and go on.
START_TEST(test_future_like_failure_reaches_coroutine) {
    EddyVM *vm = eddy_vm_new(NULL);
    ck_assert_ptr_nonnull(vm);
    run_expect_exit0(vm,
                     "import asyncio, sys\n"
                     "class NoLoop:\n"
                     "    _asyncio_future_blocking = True\n"
                     "    def get_loop(self): raise LookupError('no loop')\n"
                     "    def __await__(self):\n"
                     "        yield self\n"
                     "        return 'resumed'\n"
                     "class NoCallbacks(NoLoop):\n"
                     "    def get_loop(self): return asyncio.get_running_loop()\n"
                     "    def add_done_callback(self, fn, *, context=None):\n"
                     "        raise ValueError('no callbacks')\n"
                     "async def waits(obj):\n"
                     "    try:\n"
                     "        await obj\n"
                     "    except Exception as e:\n"
                     "        return type(e).__name__ + ': ' + str(e)\n"
                     "async def main():\n"
                     "    a = await asyncio.create_task(waits(NoLoop()))\n"
                     "    b = await asyncio.create_task(waits(NoCallbacks()))\n"
                     "    return a == 'LookupError: no loop' and b == 'ValueError: no callbacks'\n"
                     "sys.exit(0 if asyncio.run(main()) else 1)\n");
    eddy_vm_free(vm);
}
END_TEST

// Two VMs, each with its own running loop, interleaved by the host.
START_TEST(test_two_vms) {
    EddyVM *a = eddy_vm_new(NULL);
    EddyVM *b = eddy_vm_new(NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    const char *src = "import asyncio, sys\n"
                      "async def main():\n"
                      "    t = asyncio.create_task(asyncio.sleep(0, 'x'))\n"
                      "    return await t, len(asyncio.all_tasks())\n"
                      "sys.exit(0 if asyncio.run(main()) == ('x', 1) else 1)\n";
    run_expect_exit0(a, src);
    run_expect_exit0(b, src);
    run_expect_exit0(a, src);
    eddy_vm_free(a);
    eddy_vm_free(b);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("asyncio");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_memory_limit_in_tasks);
    tcase_add_test(tc, test_deep_await_recursion);
    tcase_add_test(tc, test_loop_frees_everything);
    tcase_add_test(tc, test_two_vms);
    tcase_add_test(tc, test_future_like_failure_reaches_coroutine);
    tcase_add_test(tc, test_debug_mode_frees_everything);
    tcase_add_test(tc, test_debug_mode_memory_limit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
