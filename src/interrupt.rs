//! Interruption without debris: SIGINT, SIGTERM and SIGHUP remove every temporary file in
//! flight (see `meshcap::output::temporaries`) before the process dies of the signal.
//!
//! The signals are blocked in every thread (rayon's inherit the mask) and received by one
//! thread with `sigwait`, so the cleanup runs as ordinary code, not in a signal handler. A
//! signal the process was started ignoring (`nohup` ignores SIGHUP, a shell's background job
//! SIGINT) stays ignored.

/// Start the thread that cleans up on a signal. Call first thing in `main`.
#[cfg(unix)]
pub fn clean_up_on_signals() {
    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];
    // SAFETY: plain libc calls on a signal set we own; no handler is installed.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in SIGNALS {
            let mut current: libc::sigaction = std::mem::zeroed();
            let ignored =
                libc::sigaction(s, std::ptr::null(), &mut current) == 0 && current.sa_sigaction == libc::SIG_IGN;
            if !ignored {
                libc::sigaddset(&mut set, s);
            }
        }
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let spawned = std::thread::Builder::new().name("signals".into()).spawn(move || {
            let mut signal: libc::c_int = 0;
            if libc::sigwait(&set, &mut signal) != 0 {
                return;
            }
            // Held until the process is gone: no new temporary is created meanwhile.
            let _held = meshcap::output::temporaries::remove_all();
            // Die of the signal itself, so a shell or a Job sees how the process ended.
            libc::signal(signal, libc::SIG_DFL);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signal);
            libc::_exit(128 + signal);
        });
        if spawned.is_err() {
            // Without the thread the signals would be ignored: unblock them.
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

/// Elsewhere the default behaviour stands.
#[cfg(not(unix))]
pub fn clean_up_on_signals() {}
