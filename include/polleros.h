/*
 * polleros - one readiness poller for every operating system.
 *
 * The application owns logic; polleros owns kernel state.  Every attached
 * channel has a probe, ops->triggers(), that says what the channel wants right
 * now.  po_wait() is the only function that changes kernel interest: it probes
 * the channels whose wants can have changed (by default: those attached,
 * re-socketed, triggered or touched since the last wait; every channel in
 * PO_RECONCILE_FULL mode) (phase A), tells the kernel only what differs from
 * what it was last told, waits (phase B, without blocking when an internal
 * trigger is already pending) and harvests events by a 64-bit sequence number
 * that is never reused (phase C).  The application then walks the triggered
 * channels with po_next_triggered() and acts.
 *
 * Threading: a poller and its channels belong to one thread at a time.  The
 * one function any thread may call at any time is po_notify(), which hands a
 * payload to a notifier channel and wakes the poller's thread.
 *
 * Callbacks: a probe (ops->triggers) runs inside po_wait(); a deinit runs
 * inside po_delete(), po_delete_group(), po_delete_marked() or po_destroy().
 * Inside either, the calls that change the poller refuse with PO_EBUSY and
 * change nothing: po_attach(), po_delete(), po_delete_group(),
 * po_delete_marked(), po_set_socket(), po_set_deadline(), po_wait(),
 * po_destroy(), po_after_fork(), po_notifier_attach() and
 * po_signal_attach().  Allowed there: po_touch(), po_mark_delete(),
 * po_find(), po_count(), the accessors, po_notify(), po_notifier_take() and
 * po_signal_take() (on a notifier or signal channel still attached), and
 * the functions that only read (po_get_stats(), po_backend_name(), ...).
 *
 * Errors: functions that can fail return a negative PO_E... code (or NULL with
 * the code stored through an out parameter); po_strerror() names it.  When a
 * kernel call failed, PO_ESYS is returned and po_last_errno() gives its errno.
 *
 * Bindings: the walk and the channel accessors are inline, but the library
 * also exports each of them under the same name, so that a program that
 * does not compile C (Python's ctypes, Zig, Rust) calls them without copying
 * the channel record's layout.  A C program that defines POLLEROS_NO_INLINE
 * before including this header calls the exported ones too: the form to
 * hand an FFI generator.  po_version() is the version of the library linked.
 */
#ifndef POLLEROS_H
#define POLLEROS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(POLLEROS_SHARED)
#if defined(POLLEROS_BUILDING)
#define PO_API __declspec(dllexport)
#else
#define PO_API __declspec(dllimport)
#endif
#elif defined(__GNUC__) && defined(POLLEROS_BUILDING)
#define PO_API __attribute__((visibility("default")))
#else
#define PO_API
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                   */

/* The version of this header.  The top-level CMakeLists.txt reads the three
 * lines below: they are the one place the version is written down. */

#define POLLEROS_VERSION_MAJOR 0 /* goes up when the API or the ABI changes */
#define POLLEROS_VERSION_MINOR 1 /* goes up with additions that keep both */
#define POLLEROS_VERSION_PATCH 0 /* goes up with fixes alone */

/* A version as one number, major * 1000000 + minor * 1000 + patch, so that
 * numbers compare as versions do (minor and patch stay below 1000).  A
 * constant expression, usable in preprocessor conditionals. */
#define POLLEROS_VERSION_NUMBER(major, minor, patch)                           \
    ((major)*1000000L + (minor)*1000L + (patch))
/* This header's version as one number. */
#define POLLEROS_VERSION                                                       \
    POLLEROS_VERSION_NUMBER(POLLEROS_VERSION_MAJOR, POLLEROS_VERSION_MINOR,    \
                            POLLEROS_VERSION_PATCH)

/*
 * The version of the library linked, as POLLEROS_VERSION_NUMBER() packs it.
 * With a shared library that is the one found at run time, which need not be
 * the one whose header the program was compiled with: a program can compare
 * it with POLLEROS_VERSION, e.g. refuse to run when
 * po_version() / 1000000 != POLLEROS_VERSION_MAJOR.  A binding that loads the
 * library learns its version this way.  Never fails.  O(1).  Safe anywhere:
 * from any thread, in a probe or a deinit, during a walk.
 */
PO_API long po_version(void);

/* ------------------------------------------------------------------------ */
/* Types                                                                     */

/*
 * Triggers: one byte, one bit per reason a channel can be walked.
 *
 * Kernel triggers (the probe asks for them; the kernel reports them):
 *   PO_NOTIFY   readable, for a channel that carries wake-ups rather than data
 *   PO_ACCEPT   readable, for a listening socket
 *   PO_CONNECT  writable, for a socket whose connect() is in progress
 *   PO_SEND     writable
 *   PO_RECV     readable, or the peer hung up (read to EOF: no byte is lost)
 * Internal triggers (the probe raises them itself; they are reported back in
 * the same wait without asking the kernel, and keep the wait from blocking):
 *   PO_POOL     the channel has internal work, typically "buffers are
 *               available again".  Backpressure: while its buffers are
 *               gone a channel stops asking for PO_RECV (the socket is then
 *               not watched for reading), and when they come back it is
 *               touched and answers PO_POOL, once, instead of PO_RECV.  Like
 *               every internal trigger, PO_POOL keeps the wait from
 *               blocking: a probe that answered it while still waiting
 *               would make the loop spin
 *   PO_ERR      also reported by the poller: a socket error, a hang-up while
 *               PO_RECV is not wanted, or a failed kernel call for the channel
 *               (see po_channel_errno())
 *   PO_TIMEOUT  per channel: its deadline (po_set_deadline()) passed.  As
 *               the whole total of po_wait() it means the wait triggered
 *               no channel.
 */
typedef uint8_t po_triggers;
enum {
    PO_NOTIFY = 1u << 0,
    PO_ACCEPT = 1u << 1,
    PO_CONNECT = 1u << 2,
    PO_SEND = 1u << 3,
    PO_RECV = 1u << 4,
    PO_POOL = 1u << 5,
    PO_ERR = 1u << 6,
    PO_TIMEOUT = 1u << 7,
    PO_KERNEL_TRIGGERS = PO_NOTIFY | PO_ACCEPT | PO_CONNECT | PO_SEND | PO_RECV,
    PO_INTERNAL_TRIGGERS = PO_POOL | PO_ERR | PO_TIMEOUT
};

/* The poller's own token for a channel incarnation: assigned from 1 upwards
 * at attach and again when the channel's socket changes; never reused during
 * the poller's life, so an event for an old incarnation can never reach a new
 * one. */
typedef uint64_t po_seqn;

/* The application's number for a channel; any value, unique in a poller. */
typedef uint64_t po_chn;

#ifdef _WIN32
typedef uintptr_t po_socket; /* a SOCKET */
#define PO_NO_SOCKET ((po_socket) ~(uintptr_t)0)
#else
typedef int po_socket; /* a file descriptor */
#define PO_NO_SOCKET (-1)
#endif

typedef struct po_poller po_poller;
typedef struct po_channel po_channel;

/*
 * What a channel does.  Usually one static table per kind of channel.
 *
 * triggers: the probe.  Returns what the channel wants now: any of the kernel
 *   triggers, plus internal triggers to report without waiting.  Called by
 *   po_wait() for each channel whose wants can have changed (see
 *   po_reconcile; every channel in PO_RECONCILE_FULL mode), so it must be
 *   cheap.  Calls that change the poller fail there with PO_EBUSY (see
 *   "Callbacks" above).  A channel without a socket can only be triggered by
 *   internal triggers.
 * deinit: called exactly once per channel, when it is deleted (po_delete,
 *   po_delete_group, po_delete_marked) or when the poller is destroyed.  The
 *   poller no longer watches the socket at that point, so deinit may close it.
 *   May be NULL.  Calls that change the poller fail there with PO_EBUSY.
 */
typedef struct po_channel_ops {
    po_triggers (*triggers)(po_channel *ch, void *ctx);
    void (*deinit)(po_channel *ch, void *ctx);
} po_channel_ops;

/* Allocator hooks: every byte the poller owns comes from here, with one
 * exception: on Windows the wepoll backend's bridge (wepoll/) keeps a record
 * per registered socket, taken when po_wait() registers the socket and given
 * back once the kernel lets go of it, from the C library's heap, because
 * po_wait() never calls these hooks and the bridge cannot bound those
 * records in advance (a deleted socket's record lives until its cancelled
 * request completes).  If that allocation fails the channel reports PO_ERR
 * with po_channel_errno() ENOMEM.  realloc must accept NULL as the old
 * pointer.  A hook returning NULL makes the call that needed memory fail
 * with PO_ENOMEM and leaves the poller as it was. */
typedef struct po_allocator {
    void *(*malloc)(size_t size, void *ctx);
    void *(*realloc)(void *ptr, size_t size, void *ctx);
    void (*free)(void *ptr, void *ctx);
    void *ctx;
} po_allocator;

typedef enum po_backend_kind {
    PO_BACKEND_DEFAULT = 0, /* the environment's POLLEROS_BACKEND, else the
                               platform's best */
    PO_BACKEND_EPOLL,
    PO_BACKEND_POLL,
    PO_BACKEND_KQUEUE,
    PO_BACKEND_WEPOLL,
    /* Linux 6.15+: an epoll set driven through io_uring, a round's interest
     * changes and its wait in one system call.  Opt-in, never the default;
     * PO_ENOTSUP where the kernel refuses io_uring (docs/uring.md).  A
     * po_delete() or po_set_socket() reaches the kernel with the next
     * wait. */
    PO_BACKEND_URING
} po_backend_kind;

/*
 * Which channels phase A of po_wait() probes.
 *   PO_RECONCILE_CHANGED: only the channels whose wants can have changed:
 *     attached or given a socket since the last wait, triggered by the last
 *     wait (internal triggers and parked channels included), or touched with
 *     po_touch().  A wait costs O(those + events), however many channels sit
 *     idle.  The application calls po_touch() when it changes what a channel
 *     wants outside that channel's own turn in the walk.
 *   PO_RECONCILE_FULL: every channel, every wait: O(channels), and no
 *     po_touch() needed.
 * Both report the same triggers when po_touch() is used as documented.
 */
typedef enum po_reconcile {
    PO_RECONCILE_DEFAULT = 0, /* POLLEROS_RECONCILE ("changed", "full") from
                                 the environment, else PO_RECONCILE_CHANGED */
    PO_RECONCILE_CHANGED,
    PO_RECONCILE_FULL
} po_reconcile;

/* Options for po_create(); a zeroed struct (or NULL) means all defaults. */
typedef struct po_options {
    po_backend_kind backend;
    const po_allocator *allocator; /* NULL: the C library's malloc */
    /* How many kernel events one wait can harvest, on every backend; 0 means
     * 256, and a value above 65536 is taken as 65536.  More ready channels
     * than this are harvested by the following waits, each in its turn. */
    unsigned max_events;
    po_reconcile reconcile;
    /* Deadline precision, paid for in CPU time.  0 (the default): a timed
     * wait sleeps in the kernel until its time, and wakes as late as the
     * system makes it (timer slack, and the wake-up of an idle CPU: tens to
     * hundreds of microseconds, docs/guide/deadlines.md).  Above 0: the
     * kernel sleep of a timed wait (a deadline, po_wait_until(), a
     * po_wait() timeout) ends spin_ns before its time, and the rest is spent
     * in kernel waits that do not block, each of which still harvests
     * events, until the time has come; so a round ends within a few
     * microseconds of its time, at the cost of up to spin_ns of busy CPU per
     * timed wait (less when the kernel wakes late anyway).  Each such wait
     * counts in po_stats.waits.  The time of the wait is unchanged: nothing
     * fires early, and a po_wait() timeout is then never cut short. */
    uint64_t spin_ns;
} po_options;

/* Kernel calls made so far, for tests and benchmarks.  Failed calls count. */
typedef struct po_stats {
    uint64_t adds;   /* sockets registered with the kernel */
    uint64_t mods;   /* interest changes of a registered socket */
    uint64_t dels;   /* sockets unregistered */
    uint64_t waits;  /* kernel wait calls */
    uint64_t events; /* events harvested and delivered to a live channel */
    uint64_t stale;  /* events dropped because their token was stale */
} po_stats;

/* Walk state for po_next_triggered(); start each walk with PO_ITER_INIT. */
typedef struct po_iter {
    po_channel *next;
    uint64_t round;
} po_iter;
#define PO_ITER_INIT                                                           \
    { 0, 0 }

/* Error codes (negative). */
enum {
    PO_OK = 0,
    PO_EINVAL = -1,  /* NULL or out-of-range argument */
    PO_ENOMEM = -2,  /* an allocation failed; nothing changed */
    PO_EEXIST = -3,  /* the channel number is already attached */
    PO_ENOENT = -4,  /* no channel has that number */
    PO_EINUSE = -5,  /* the socket belongs to another channel of the poller;
                        a signal belongs to another signal channel */
    PO_EBUSY = -6,   /* called from inside a probe or a deinit */
    PO_ENOTSUP = -7, /* the backend is not available in this build or OS */
    PO_ESYS = -8,    /* a kernel call failed; see po_last_errno() */
    PO_EAGAIN = -9   /* a notifier's queue is full (po_notify) or empty
                        (po_notifier_take), no signal to take
                        (po_signal_take): try again later */
};

/* ------------------------------------------------------------------------ */
/* Poller                                                                    */

/*
 * Creates a poller.  opt may be NULL.  With PO_BACKEND_DEFAULT the
 * environment variable POLLEROS_BACKEND ("epoll", "poll", "kqueue",
 * "wepoll", "uring") chooses, else the platform's best: epoll on Linux,
 * kqueue on macOS and the BSDs, wepoll on Windows (uring is never chosen
 * by default).
 * Returns NULL on failure and stores the code in *err if err is not NULL:
 * PO_EINVAL (an unknown name in POLLEROS_BACKEND, a POLLEROS_RECONCILE
 * other than "changed" or "full", a backend or reconcile option out of
 * range, an incomplete allocator),
 * PO_ENOTSUP (backend not built for this OS, or io_uring refused by the
 * kernel: errno says why), PO_ENOMEM, PO_ESYS (the kernel
 * refused to create its object; errno is left as that call set it).  The
 * kernel object is created close-on-exec (on Windows handles are not
 * inherited to begin with).
 */
PO_API po_poller *po_create(const po_options *opt, int *err);

/*
 * Destroys the poller: closes the kernel object (which unregisters every
 * socket at once), then deletes every channel still attached, calling its
 * deinit exactly once, and frees all poller memory.  The channels go one at
 * a time, in no particular order, each taken out of the poller just before
 * its deinit runs: a deinit may look up (po_find()) and use the channels
 * not yet deinit'd, never one already gone (its ctx may be freed; a
 * notifier is freed with its channel).  After it returns, p and every
 * channel pointer are invalid.
 * Returns PO_OK (also for NULL, which is ignored), or PO_EBUSY when called
 * from inside a probe or a deinit: then nothing happens, and the
 * application destroys the poller once the call that ran the callback has
 * returned.  O(channels).
 * In a child process that inherited the poller (fork()) it is safe with or
 * without po_after_fork() first, and changes nothing of the parent's
 * poller: it unregisters no socket one by one, and the kernel objects it
 * closes are the child's own or the child's copies of the parent's
 * descriptors, which stay open in the parent (see po_after_fork()).
 */
PO_API int po_destroy(po_poller *p);

/* The backend in use: "epoll", "poll", "kqueue" or "wepoll". */
PO_API const char *po_backend_name(const po_poller *p);

/* Copies the kernel call counters into *out. */
PO_API void po_get_stats(const po_poller *p, po_stats *out);

/* The errno of the last failed kernel call of po_wait(), po_after_fork()
 * or po_signal_attach() (PO_ESYS); with the poll backend on Windows, a
 * Winsock error code. */
PO_API int po_last_errno(const po_poller *p);

/* Number of attached channels.  O(1). */
PO_API size_t po_count(const po_poller *p);

/* A static English description of an error code. */
PO_API const char *po_strerror(int err);

/* ------------------------------------------------------------------------ */
/* fork                                                                      */

/*
 * A child process made by fork() inherits the poller's memory and copies of
 * its descriptors, but the kernel objects behind those descriptors stay
 * the parent's: the epoll set and its registrations (with the uring
 * backend also its io_uring ring, memory shared between the two
 * processes), and each notifier's eventfd or pipe.  A kqueue is not
 * inherited at all.  Through them, a po_delete() in the child would take
 * the socket out of the parent's epoll set, a po_wait() would change and
 * wait on the parent's registrations, a po_notifier_take() would consume
 * the parent's wake-up and a po_notify() wake the parent.  So the child
 * calls, before anything else on the poller, its channels or its
 * notifiers, either:
 *   - po_after_fork(p), which gives the child kernel objects of its own
 *     (below), after which the poller is the child's, used as any; or
 *   - po_destroy(p), which is safe without po_after_fork().
 * Before either, the child may only read: po_find(), po_count(),
 * po_get_stats(), po_backend_name(), po_last_errno(),
 * po_channel_deadline(), po_next_triggered() and the accessors.  The same
 * holds for every
 * kernel object a channel of the library owns (a notifier's, a signal
 * channel's signalfd, kqueue or wake-up object): po_after_fork() gives the
 * child its own, the one inherited stays the parent's, and po_destroy()
 * closes only the child's copy.  A signal channel keeps the mask and the
 * actions the child inherited; a signal the parent had not taken is the
 * parent's, as the kernel keeps a parent's pending signals from its
 * child.  The parent is not affected by the fork
 * and uses its poller as before, whatever the child does, with
 * po_after_fork() or without.  The sockets are shared as fork() shares
 * any descriptor: a byte one process reads, the other does not, and both
 * pollers report a socket readable while it is.
 *
 * Gives a child's inherited poller kernel objects of its own and registers
 * its channels there: a new epoll set (uring: a new ring and a new epoll
 * set; kqueue: a new kqueue; poll: its vector emptied), and closes the
 * child's copies of the inherited descriptors, which leaves the parent's
 * registrations as they are (an epoll set lives until its last descriptor
 * is closed, and the parent holds one).  Every channel stays, with its
 * number, SeqN, ctx, wants, deadline and a failure recorded for it
 * (po_channel_errno()); the next po_wait() probes each and registers its
 * socket with what it wants then.  A notifier gets a new eventfd or pipe,
 * so its channel's socket and SeqN change as with po_set_socket(), and an
 * empty queue: the payloads queued in the parent at the fork stay the
 * parent's, taken there exactly once, and the child's threads (none runs
 * in a new child but the one that forked) use it as a new notifier of the
 * same capacity, once this returns.
 * In the process whose kernel objects the poller holds already (the one
 * that created it, or a child after a successful call) it does nothing and
 * returns PO_OK, so a second call is harmless.  The process is told by its
 * id: a child's own child (fork() again) calls it again.
 * Errors: PO_EINVAL (p NULL), PO_ENOTSUP (Windows, where processes do not
 * fork: always), PO_EBUSY (inside a probe or a deinit), PO_ENOMEM,
 * PO_ESYS (the kernel refused a new object, e.g. EMFILE; po_last_errno()
 * gives its errno), PO_EINUSE (a notifier's new descriptor has the number
 * of a socket the application closed without telling the poller).  On an
 * error the parent's objects are untouched and the poller is as before
 * the call for what the child may do with it: po_after_fork() again, or
 * po_destroy().
 * O(channels), plus O(capacity) per notifier.  Safe during a walk (of the
 * parent's last wait): the walk goes on, but a notifier is not visited for
 * its PO_NOTIFY, which was the parent's.
 */
PO_API int po_after_fork(po_poller *p);

/* ------------------------------------------------------------------------ */
/* Channels                                                                  */

/*
 * Attaches a channel under number chn, watching socket s (or PO_NO_SOCKET for
 * a channel that only has internal triggers).  No kernel call is made here:
 * the socket is registered by the next po_wait(), with the interest its probe
 * reports then.  A descriptor that cannot be watched (a regular file, a
 * directory, /dev/null on Linux; a handle that is not a socket on Windows)
 * is reported by that wait as the channel's PO_ERR, with EPERM (ENOTSOCK on
 * Windows) in po_channel_errno(), on every backend.  On success stores the
 * channel in *out (if out is not NULL); its address stays valid until the
 * channel is deleted (and see po_delete()).
 * Errors: PO_EINVAL (p or ops or ops->triggers NULL; on POSIX, s negative
 * and not PO_NO_SOCKET), PO_EEXIST (chn attached already), PO_EINUSE
 * (another channel holds s), PO_ENOMEM, PO_EBUSY.  On error nothing changes,
 * not even the next SeqN.
 * O(1) amortized.  Safe during a walk: the new channel is not visited by the
 * walk in progress.
 */
PO_API int po_attach(po_poller *p, po_chn chn, po_socket s,
                     const po_channel_ops *ops, void *ctx, po_channel **out);

/* The channel attached under chn, or NULL.  O(1). */
PO_API po_channel *po_find(po_poller *p, po_chn chn);

/*
 * Deletes the channel numbered chn: unregisters its socket from the kernel
 * (if registered), calls its deinit, and forgets it; its SeqN is never used
 * again and any event still carrying it is dropped.  The socket itself is the
 * application's (close it in deinit or after).
 * The deleted channel's pointer may still be handed to the API until the
 * next po_wait() or po_destroy(), which refuse or ignore it:
 * po_set_socket() and po_set_deadline() return PO_EINVAL, po_touch() and
 * po_mark_delete() do nothing, po_channel_deadline() is PO_NEVER and
 * po_channel_act() 0; its record is not given to another channel before
 * then.  After that wait the pointer must not be used at all.
 * Errors: PO_EINVAL (p NULL), PO_ENOENT (no such channel), PO_EBUSY.
 * O(1).  Safe during a walk: the deleted channel is not visited afterwards.
 */
PO_API int po_delete(po_poller *p, po_chn chn);

/*
 * Deletes each attached channel among chns[0..n-1]; numbers that are not
 * attached are skipped.  One at a time, as po_destroy() does: a deinit
 * finds the channels not yet deleted, never one already gone.  Returns how many
 * were deleted, or PO_EINVAL / PO_EBUSY.  O(n).  Safe during a walk.
 */
PO_API int po_delete_group(po_poller *p, const po_chn *chns, size_t n);

/* Tells the poller that what the channel wants may have changed, so that the
 * next po_wait() probes it (PO_RECONCILE_CHANGED; harmless otherwise).  Needed
 * only for a change made outside the channel's own turn in the walk: a
 * triggered channel is probed again anyway.  Safe anywhere, even in a probe
 * or during a walk.  NULL is ignored.  O(1). */
PO_API void po_touch(po_channel *ch);

/* Marks a channel for po_delete_marked().  Safe anywhere, even in a probe.
 * O(1). */
PO_API void po_mark_delete(po_channel *ch);

/* Deletes every marked channel, one at a time like po_delete_group();
 * returns how many, or PO_EINVAL / PO_EBUSY.  O(channels) when any channel
 * is marked, O(1) otherwise.  Safe during a walk. */
PO_API int po_delete_marked(po_poller *p);

/*
 * Changes the socket a channel watches (PO_NO_SOCKET to stop watching).  The
 * old socket is unregistered at once, so the application may close it right
 * after; the new one is registered by the next po_wait().  The channel gets a
 * new SeqN, so a late event of the old socket can never be taken for one of
 * the new.  Setting the same socket again re-registers it and clears a
 * failure recorded for the channel (po_channel_errno()).
 * What the last wait reported for the old socket goes with it: the act
 * keeps only what belongs to the channel, PO_POOL, PO_TIMEOUT and a PO_ERR
 * its own probe raised (act & (PO_POOL | PO_TIMEOUT | (wants & PO_ERR))).
 * So during a walk a channel given a new socket before its turn is visited
 * only for those (and not at all when none is left): a PO_ERR of the dead
 * connection never reaches the new one.
 * Errors: PO_EINVAL (ch NULL or deleted; on POSIX, s negative and not
 * PO_NO_SOCKET), PO_EINUSE (another channel holds s), PO_ENOMEM, PO_EBUSY.
 * On error nothing changes.  O(1).  Safe during a walk.
 */
PO_API int po_set_socket(po_channel *ch, po_socket s);

/* ------------------------------------------------------------------------ */
/* The wait                                                                  */

/*
 * Runs one round of the loop:
 *   A. probes the channels whose wants can have changed (see po_reconcile;
 *      every channel in PO_RECONCILE_FULL mode); a probe's triggers become
 *      the channel's wants, its internal triggers its first act; where the
 *      kernel interest derived
 *      from the wants (readable for PO_RECV/PO_NOTIFY/PO_ACCEPT, writable for
 *      PO_SEND/PO_CONNECT) differs from what the kernel holds, issues one
 *      add, mod or del.  A socket with no interest is not registered at all,
 *      so a channel that stops wanting PO_RECV hears nothing from its socket.
 *      A kernel call that fails for one channel gives that channel PO_ERR and
 *      po_channel_errno(); the others are served as usual.
 *   B. waits for the kernel up to timeout_ms (-1: no limit) and no longer
 *      than the nearest channel deadline, or does not block at all when any
 *      channel has an internal trigger.
 *   C. translates each event for its channel's wants and ORs it into act:
 *      readable -> PO_RECV, else PO_NOTIFY, else PO_ACCEPT (whichever is
 *      wanted); writable -> PO_SEND, else PO_CONNECT; socket error -> PO_ERR;
 *      hang-up (the connection can neither receive nor send: a closed
 *      AF_UNIX peer, a reset) -> PO_RECV if wanted (read the rest, then EOF),
 *      else PO_ERR.  A TCP peer's half-close (FIN) is plain readability: EOF
 *      for the channel that reads, nothing for one that does not.  Events
 *      combine: a reset with bytes still unread gives PO_RECV|PO_ERR (read
 *      first, then handle the error, or the bytes are lost), a writer whose
 *      AF_UNIX peer closed gets PO_SEND|PO_ERR (the write fails with EPIPE).
 *      Events whose SeqN is stale are dropped.  Then every channel whose
 *      deadline has passed gets PO_TIMEOUT, and loses that deadline.
 * Readiness is level-triggered: a condition that still holds is reported
 * again by the next wait, whether or not the walk visited the channel.  A
 * channel that keeps wanting PO_RECV after reading EOF is therefore reported
 * PO_RECV by every wait, which then never blocks: stop asking for PO_RECV
 * (or delete the channel) at EOF.  An act is not carried over: internal
 * triggers are reported again only if the probe answers them again.
 * Returns the number of triggered channels (>= 0) and stores in *total (if not
 * NULL) the OR of their acts, or PO_TIMEOUT when none was triggered.  Any
 * negative timeout_ms means no limit, 0 not to block.  A kernel wait cut
 * short for a channel's deadline that has not quite come waits again for
 * the rest, so the deadline never fires early; timeout_ms itself is the
 * kernel's timeout, rounded up to whole milliseconds where the kernel takes
 * no finer (with po_options.spin_ns, the wait goes on to its end): for a
 * time that must have come when the round ends untriggered, use
 * po_wait_until().  An interrupted kernel wait (EINTR)
 * ends the round early as if it timed out.
 * Errors: PO_EINVAL, PO_EBUSY, PO_ESYS (the kernel wait failed; see
 * po_last_errno(); the poller is unchanged and can wait again).
 * Never calls the allocator (but see po_allocator for the wepoll
 * backend).  Phase A costs O(candidates) in PO_RECONCILE_CHANGED
 * mode, O(channels) in PO_RECONCILE_FULL; phase C O(events), plus O(log d)
 * per deadline that fires.
 */
PO_API int po_wait(po_poller *p, int timeout_ms, po_triggers *total);

/* ------------------------------------------------------------------------ */
/* The walk and the channel accessors                                        */

/*
 * A channel: one socket (or none) with its probe, its wants and its act.  Its
 * address stays valid from po_attach() until it is deleted.  The record's
 * layout is published because the walk and the accessors below run once per
 * event and are inline; its fields belong to the library: read them only
 * through the accessors, and never write them.  The layout, and that of
 * po_walk_head, is part of the ABI: a release that changes it changes the
 * library's major version.
 */
struct po_channel {
    const po_channel_ops *ops; /* the table given to po_attach() */
    void *ctx;                 /* the ctx given to po_attach() */
    po_channel *link;          /* the next on the round's list */
    po_seqn seqn;              /* the current incarnation's token */
    po_triggers wants;         /* the probe's last answer */
    po_triggers act;           /* what the last po_wait() produced */
    uint8_t state;             /* the library's state bits */
    uint8_t slot;              /* the index in the record's slab */
    int os_errno;              /* a failed kernel call's errno, or 0 */
    po_chn chn;                /* the application's number */
    po_socket sock;            /* the socket, or PO_NO_SOCKET */
    uint32_t bref;             /* the backend's word for its entry */
};

/* The first member of every poller: what po_next_triggered() reads. */
typedef struct po_walk_head {
    po_channel *list; /* the triggered channels lead this round's list */
    uint64_t round;   /* the number of the last po_wait(); 0 is never one */
} po_walk_head;

/*
 * The walk and the accessors below are defined here, static inline, because
 * they run once per event: an application's loop reads the record without a
 * call.  Their exported twins ("Bindings" at the top) are compiled from these
 * same bodies, so there is one body per function: src/exports.c includes
 * this header with PO__EXPORT_INLINE defined, which turns each definition
 * below into an exported one.  With POLLEROS_NO_INLINE a program gets the
 * prototypes alone, and pays a call per step and per accessor; the tests
 * check that both forms return the same.
 */

#if defined(POLLEROS_NO_INLINE) || defined(PO__EXPORT_INLINE)
/* In src/exports.c these prototypes precede the definitions, so the
 * library's build fails if the two ever disagree. */
PO_API po_channel *po_next_triggered(po_poller *p, po_iter *it);
PO_API po_chn po_channel_chn(const po_channel *ch);
PO_API po_seqn po_channel_seqn(const po_channel *ch);
PO_API po_socket po_channel_socket(const po_channel *ch);
PO_API void *po_channel_ctx(const po_channel *ch);
PO_API po_triggers po_channel_act(const po_channel *ch);
PO_API po_triggers po_channel_wants(const po_channel *ch);
PO_API int po_channel_errno(const po_channel *ch);
#endif
#ifndef POLLEROS_NO_INLINE
#ifdef PO__EXPORT_INLINE
#define PO__INLINE PO_API
#else
#define PO__INLINE static inline
#endif

/*
 * Walks the channels triggered by the last po_wait(), one per call, in no
 * particular order; returns NULL at the end (and for p or it NULL).  Start
 * with `po_iter it = PO_ITER_INIT;`.  Costs O(1) per call and O(triggered)
 * per walk.  During a walk the application may attach, delete, mark and
 * change sockets: deleted channels are skipped, attached ones are not
 * visited, a channel given a new socket is visited only for the triggers it
 * keeps (po_set_socket()).  A walk ends (returns NULL) once po_wait() runs
 * again; it need not run to its end: a channel it did not visit is probed
 * by the next wait, which reports again what still holds.
 */
PO__INLINE po_channel *po_next_triggered(po_poller *p, po_iter *it) {
    if (p == NULL || it == NULL)
        return NULL;
    const po_walk_head *w = (const po_walk_head *)(const void *)p;
    if (it->round != w->round) {
        if (it->round != 0)
            return NULL; /* a walk of an earlier round */
        it->round = w->round;
        it->next = w->list;
    }
    po_channel *ch = it->next;
    /* Skipped: channels on the list only to be probed (touched, attached)
     * and channels deleted since the wait (their act is cleared). */
    while (ch != NULL && ch->act == 0)
        ch = ch->link;
    it->next = ch ? ch->link : NULL;
    return ch;
}

/* The number the channel was attached under.  O(1). */
PO__INLINE po_chn po_channel_chn(const po_channel *ch) { return ch->chn; }
/* The channel's SeqN: its token in the kernel, renewed by po_set_socket().
 * Each SeqN a poller gives is above every one it gave before (not always
 * by one: it picks one whose token resolves without hashing), so none is
 * ever given twice.  O(1). */
PO__INLINE po_seqn po_channel_seqn(const po_channel *ch) { return ch->seqn; }
/* The socket the channel watches, or PO_NO_SOCKET.  O(1). */
PO__INLINE po_socket po_channel_socket(const po_channel *ch) {
    return ch->sock;
}
/* The ctx given to po_attach(); for a notifier's channel, its
 * po_notifier.  O(1). */
PO__INLINE void *po_channel_ctx(const po_channel *ch) { return ch->ctx; }
/* The triggers the last po_wait() produced for the channel (its act).
 * O(1). */
PO__INLINE po_triggers po_channel_act(const po_channel *ch) { return ch->act; }
/* The wants the channel's probe reported when it was last probed.  O(1). */
PO__INLINE po_triggers po_channel_wants(const po_channel *ch) {
    return ch->wants;
}
/*
 * The errno of the kernel call that failed for this channel, or 0: EBADF
 * for a socket closed behind the poller's back; EPERM, on every POSIX
 * backend, for a descriptor that cannot be watched (a regular file, a
 * directory, /dev/null on Linux); ENOTSOCK for a non-socket on Windows.
 * errno values on every system, Windows included.  While it is set the
 * channel is reported PO_ERR on every wait and no kernel call is made for
 * it; po_set_socket() clears it.  A socket's own error (refused connect,
 * reset) is reported as PO_ERR with 0 here: read it with
 * getsockopt(SO_ERROR).  O(1).
 */
PO__INLINE int po_channel_errno(const po_channel *ch) { return ch->os_errno; }
#endif /* POLLEROS_NO_INLINE */

/* ------------------------------------------------------------------------ */
/* Deadlines                                                                 */

/* A point in time: nanoseconds on the system's monotonic clock, which wall
 * clock changes do not move. */
typedef uint64_t po_time;
#define PO_NEVER ((po_time)UINT64_MAX) /* no deadline */
#define PO_MSEC ((po_time)1000000)     /* one millisecond in po_time */

/* The monotonic clock now (CLOCK_MONOTONIC; QueryPerformanceCounter on
 * Windows).  Thread-safe.  O(1). */
PO_API po_time po_now(void);

/*
 * Gives the channel a deadline (PO_NEVER removes it).  The first po_wait()
 * that ends at or after `at` reports PO_TIMEOUT in the channel's act, ORed
 * with whatever else it got, and the deadline is then gone: set it again for
 * another.  po_wait() sleeps no longer than the nearest deadline.  A deadline
 * already past fires at the next wait, without blocking it.  A deadline
 * survives po_set_socket() and leaves with the channel.  Typical uses: a
 * connect timeout (set it with the connect, remove it when PO_CONNECT
 * comes) and an idle timeout (move it on at every PO_RECV).
 * Errors: PO_EINVAL (ch NULL, or deleted: see po_delete() for how long such
 * a pointer may be passed), PO_ENOMEM (the first deadline of a
 * channel needs memory; nothing changed), PO_EBUSY (inside a probe or a
 * deinit).  O(log d) for d channels with deadlines; a wait costs O(1) for the
 * deadlines plus O(log d) per deadline that fires, however many are set.
 * Safe during a walk.
 */
PO_API int po_set_deadline(po_channel *ch, po_time at);

/* The channel's deadline, or PO_NEVER.  O(1) when it has none, else one
 * lookup. */
PO_API po_time po_channel_deadline(const po_channel *ch);

/*
 * po_wait() until the absolute time `deadline` on po_now()'s clock instead
 * of for a number of milliseconds: PO_NEVER waits without limit, a deadline
 * already past (0 included) does not block.  The round is po_wait()'s in
 * every other respect (phases, triggers, *total, the channels' deadlines,
 * which end the kernel wait as well).  The kernel is asked for the time
 * left to the nanosecond where its call takes one (epoll_pwait2 from Linux
 * 5.11, ppoll on Linux, kevent, io_uring's timeout) and to the millisecond,
 * rounded up, where it does not (epoll_wait on older kernels, poll
 * elsewhere, Windows); a kernel wait that ends before the deadline waits
 * again for the rest.  So a return with no channel triggered (PO_TIMEOUT
 * in *total) means po_now() >= deadline, unless the kernel wait was
 * interrupted (EINTR), which ends the round at once as in po_wait().
 * Lateness is the system's: its timer slack (Linux: 50 us by default for
 * a thread that is not real-time; prctl(PR_SET_TIMERSLACK), which polleros
 * never changes), its wake-up from idle and its scheduler, unless the
 * poller was made with po_options.spin_ns, which trades CPU for a wait
 * that ends within microseconds of its time (docs/guide/deadlines.md).
 * Errors: po_wait()'s: PO_EINVAL (p NULL), PO_EBUSY (inside a probe or a
 * deinit), PO_ESYS.  Costs po_wait()'s, plus one po_now() per kernel wait
 * when the deadline is neither past nor PO_NEVER.
 */
PO_API int po_wait_until(po_poller *p, po_time deadline, po_triggers *total);

/* ------------------------------------------------------------------------ */
/* Notifier: waking the poller from another thread                           */

/*
 * A notifier is a channel that other threads use to wake the poller and hand
 * it 64-bit payloads, in a bounded queue.  Its kernel object is an eventfd on
 * Linux, a pipe on the BSDs and macOS, a loopback TCP pair on Windows; the
 * poller watches it like any socket and reports PO_NOTIFY in the channel's
 * act once payloads are waiting.  The application then takes them with
 * po_notifier_take() until it returns PO_EAGAIN; payloads it leaves in the
 * queue trigger the channel again at the next wait.  Each payload sent with
 * PO_OK is taken exactly once, in the order of the queue.  After fork(),
 * the child's notifiers are used only once po_after_fork() has given them
 * objects of their own (and an empty queue).
 */
typedef struct po_notifier po_notifier;

/*
 * Creates a notifier and attaches it as channel chn.  capacity is how many
 * payloads can wait in its queue: 0 means 1024; others are rounded up to a
 * power of two, and to at least 2 (capacity 1 holds 2 payloads); above 2^24
 * is PO_EINVAL.  po_channel_ctx() of its channel is the notifier; it is
 * deleted like any channel (po_delete(), po_destroy()), which closes its
 * kernel objects and frees it: every thread must have stopped calling
 * po_notify() by then.  Stores the notifier in *out and its channel in *ch,
 * each only if not NULL.
 * Errors: PO_EINVAL, PO_EEXIST, PO_ENOMEM, PO_EBUSY, PO_ESYS (the kernel
 * refused the eventfd, pipe or socket pair; errno says why, a Winsock code
 * on Windows), PO_EINUSE (the new descriptor's number is still held by a
 * channel whose socket the application closed without telling the poller).
 * Nothing changes on error.  O(capacity) to allocate the queue.
 */
PO_API int po_notifier_attach(po_poller *p, po_chn chn, size_t capacity,
                              po_notifier **out, po_channel **ch);

/*
 * Thread-safe: queues value for the poller's thread and wakes it.  What the
 * sending thread wrote before the call is visible to the poller's thread
 * once it has taken the payload (release and acquire ordering), so a
 * payload may carry a pointer to data handed over.  Never
 * blocks and never drops a payload: when the queue is full it returns
 * PO_EAGAIN and queues nothing, and the sender decides whether to retry, wait
 * or give up.  Returns PO_OK, PO_EINVAL (n NULL), PO_EAGAIN, or PO_ESYS when
 * the payload was queued but the wake-up could not be written (it is taken
 * at the next wake-up of the poller; errno says why, a Winsock code on
 * Windows).  O(1): the queue takes no lock, and a kernel call is made only
 * when the poller was not already woken (on Windows those calls take turns,
 * since concurrent sends on one socket can lose a wake-up).
 */
PO_API int po_notify(po_notifier *n, uint64_t value);

/*
 * The poller's thread only: takes the next payload into *value.  Returns
 * PO_OK, PO_EAGAIN when the queue is empty (the channel will trigger again
 * when a payload comes), or PO_EINVAL.  The take that finds the queue empty
 * also clears the wake-up: a channel whose payloads were all taken without
 * that last PO_EAGAIN is reported PO_NOTIFY once more, with nothing to take.
 * O(1).  Safe during a walk.
 */
PO_API int po_notifier_take(po_notifier *n, uint64_t *value);

/* ------------------------------------------------------------------------ */
/* Signals                                                                   */

/*
 * A signal channel reports PO_NOTIFY once any of its signals has arrived;
 * the application then takes the signal numbers with po_signal_take()
 * until it returns PO_EAGAIN.  What reaches the loop this way is a signal
 * number, not a count: standard signals coalesce in the kernel (a second
 * SIGTERM that arrives before the first is delivered is the same pending
 * signal), so a take reports each signal number that arrived at least once
 * since that number was last taken, once.  Real-time signals (SIGRTMIN to
 * SIGRTMAX, Linux) are queued by the kernel: with epoll each
 * queued instance is taken on its own (a count, up to the kernel's queue
 * limit, RLIMIT_SIGPENDING); on the other backends they coalesce like the
 * standard ones.
 *
 * How each backend hears signals, and what that does to the process:
 *   epoll: a signalfd (non-blocking, close-on-exec).  Attach blocks
 *     the signals in the calling thread's mask (pthread_sigmask()); the
 *     signals are then not delivered in that thread, their handlers are
 *     left as they are, and they wait in the kernel for the take.  Every
 *     other thread of the process must block them too, or the kernel
 *     delivers a signal sent to the process to that thread, with its
 *     disposition (SIGTERM's default ends the process): attach before
 *     creating threads, which inherit the mask, or block the signals in
 *     each thread.  Delete takes and drops the signals still pending,
 *     closes the signalfd, then unblocks, in the calling thread, the
 *     signals that attach blocked (not those that were blocked already):
 *     attach and delete in the same thread.
 *   poll (every POSIX system), uring: a handler installed with sigaction()
 *     (SA_RESTART, so that the application's slow calls resume) raises a
 *     flag for its signal and writes the channel's wake-up object (an
 *     eventfd on Linux, a pipe elsewhere); the mask is not touched, so the
 *     handler runs in whichever thread the kernel picks.  Delete puts back
 *     the action that attach replaced.  uring does not use a signalfd: a
 *     signalfd is readable for the task that polls it, and io_uring may
 *     poll from a kernel worker of its own, which has no signal pending
 *     (seen: after the last kill() the channel was never reported).
 *   kqueue: an EVFILT_SIGNAL filter per signal, in a kqueue of the
 *     channel's own that the poller watches.  The filter sees a signal even
 *     when it is ignored, and the default action must not run: attach sets
 *     each signal's action to SIG_IGN, and delete puts back the action it
 *     replaced.  The mask is not touched.
 *   Windows (wepoll, poll): console control events, which the system hands
 *     to a handler on a thread of its own: CTRL_C_EVENT is SIGINT,
 *     CTRL_BREAK_EVENT SIGBREAK, CTRL_CLOSE_EVENT SIGTERM, and no other
 *     number can be attached.  While attached, Ctrl-C and Ctrl-Break no
 *     longer end the process.  After a close event the system ends the
 *     process once the handler returns, which it does at once: the loop
 *     has a moment, not a promise, to act on SIGTERM.
 * One channel per signal in the whole process: a signal already attached
 * to a channel of any poller, in any thread, is refused (PO_EINUSE) until
 * that channel is deleted, because the mask, the action and the pending
 * signal are the process's, not a poller's.  Pollers in several threads
 * may attach different signals at once.
 * exec: a blocked mask and SIG_IGN are inherited across execve(), a
 * handler is not (the child gets the default action).  A child started by
 * a program whose loop holds signal channels on epoll therefore
 * starts with those signals blocked, and on kqueue with them ignored:
 * reset them in the child before exec (posix_spawnattr_setsigmask(),
 * posix_spawnattr_setsigdefault()).  The signalfd and the kqueue are
 * close-on-exec.
 * fork: the child inherits the mask, the actions and the descriptors;
 * the channel stays the parent's.
 * Signals meant to report a fault of the program itself (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL) are accepted but are no use here: the faulting code
 * would run on.
 */
typedef struct po_signal po_signal;

/*
 * Attaches a signal channel as chn for the n signal numbers in signals
 * (repeats are allowed and count once).  po_channel_ctx() of its channel
 * is the po_signal; the channel is deleted like any other (po_delete(),
 * po_destroy(), ...), which undoes what attach did to the process (see
 * above) and frees the po_signal.  Stores the po_signal in *out and its
 * channel in *ch, each only if not NULL.
 * Errors: PO_EINVAL (p or signals NULL, n 0, a number the system does not
 * have, SIGKILL, SIGSTOP, on Linux the C library's own 32 and 33, on
 * Windows any but SIGINT, SIGBREAK and SIGTERM), PO_EEXIST (chn is
 * attached), PO_EINUSE (a signal is attached to another channel, of this
 * poller or another; or, as for po_notifier_attach(), the new descriptor's
 * number is still held by a channel whose socket was closed behind the
 * poller's back), PO_ENOMEM, PO_EBUSY (in a probe or a deinit), PO_ESYS
 * (the kernel refused the signalfd, kqueue, pipe or eventfd, sigaction or
 * pthread_sigmask; po_last_errno() and errno say why, on Windows a Winsock
 * or system error code).  Nothing changes on error: no mask, no action, no
 * handler.  O(n), plus the kernel calls (one per signal for poll and
 * kqueue).  Safe during a walk; refused in a probe or a deinit.  Any thread
 * may attach to its own poller; see above for the mask of other threads.
 */
PO_API int po_signal_attach(po_poller *p, po_chn chn, const int *signals,
                            size_t n, po_signal **out, po_channel **ch);

/*
 * The poller's thread only: takes one signal number that arrived since it
 * was last taken into *signo.  Returns PO_OK, PO_EAGAIN when none is left
 * (the channel triggers again when a signal comes), or PO_EINVAL (s or
 * signo NULL).  Numbers not taken trigger the channel again at the next
 * wait.  The order of the numbers is not defined; one signal that keeps
 * arriving does not hide the others.  O(1) kernel calls (one read, on
 * poll only when no flag is raised); O(64) to scan the flags on poll and
 * Windows.  Safe during a walk, in a probe or a deinit (on a channel not
 * yet deleted).
 */
PO_API int po_signal_take(po_signal *s, int *signo);

#ifdef __cplusplus
}
#endif

#endif /* POLLEROS_H */
