//! The anchor: a container that does nothing but exist. Switchyard runs one joined to every
//! user network with the alias `orchestrator`; its network namespace is where Switchyard opens
//! the management connections to processes (as the original orchestrator's own container did).
//!
//! It waits until SIGTERM or SIGINT and then exits 0 at once. As PID 1 of its container it
//! must install handlers: the kernel ignores default-action signals sent to PID 1, so without
//! them `docker stop` would wait ten seconds and SIGKILL it. No crates: two libc calls.

use std::os::raw::c_int;

const SIGINT: c_int = 2;
const SIGTERM: c_int = 15;

extern "C" {
    fn signal(signum: c_int, handler: extern "C" fn(c_int)) -> usize;
    fn pause() -> c_int;
    fn _exit(status: c_int) -> !;
}

/// Only `_exit` here: it is async-signal-safe, and there is nothing to clean up.
extern "C" fn exit_now(_signum: c_int) {
    unsafe { _exit(0) }
}

fn main() {
    // SAFETY: the handler only calls `_exit`, which is async-signal-safe.
    unsafe {
        signal(SIGTERM, exit_now);
        signal(SIGINT, exit_now);
    }
    println!("switchyard-anchor: waiting (SIGTERM or SIGINT ends it)");
    loop {
        // SAFETY: pause() only blocks until a signal arrives.
        unsafe { pause() };
    }
}
