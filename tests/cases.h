/*
 * Every conformance case, once.  CMake reads this list to register one CTest
 * test per case per backend, named <backend>/<case>; the runner uses it to
 * dispatch.  Each case is `void case_<name>(void)` in one of the t_*.c files.
 */
/* t_lifecycle.c */
PO_CASE(attach_monotonic_seqn)
PO_CASE(attach_duplicate_refused)
PO_CASE(delete_unknown_refused)
PO_CASE(null_and_invalid_args)
PO_CASE(socket_in_use_refused)
PO_CASE(deinit_once_delete)
PO_CASE(deinit_once_group)
PO_CASE(deinit_once_marked)
PO_CASE(deinit_once_destroy)
PO_CASE(mutate_during_walk)
PO_CASE(attach_100k_socketless)
PO_CASE(probe_reentry_busy)
PO_CASE(walk_ends_at_next_wait)
PO_CASE(backend_choice)
PO_CASE(alloc_failure_every_k)
/* t_events.c */
PO_CASE(fd_reuse_aba)
PO_CASE(stale_seqn_dropped)
PO_CASE(mod_only_on_change)
PO_CASE(internal_trigger_no_block)
PO_CASE(timeout_reported)
PO_CASE(empty_poller_sleeps)
PO_CASE(backpressure_pool)
PO_CASE(translate_recv)
PO_CASE(translate_notify)
PO_CASE(translate_accept)
PO_CASE(translate_send)
PO_CASE(translate_connect)
PO_CASE(connect_refused_err)
PO_CASE(peer_close_recv_all_bytes)
PO_CASE(peer_close_err_without_recv)
PO_CASE(closed_fd_behind_back)
PO_CASE(regular_file)
PO_CASE(dumb_channel_internal_only)
PO_CASE(socket_set_later)
PO_CASE(socket_changed)
PO_CASE(many_ready_sockets)
/* t_reconcile.c */
PO_CASE(reconcile_modes_agree)
/* t_hangup.c */
PO_CASE(half_close_readable)
PO_CASE(pipe_peer_closed)
/* t_kqueue.c */
PO_CASE(kqueue_partial_add)
/* t_deadline.c */
PO_CASE(deadline_fires_once)
PO_CASE(deadline_past_no_block)
PO_CASE(deadline_move_and_remove)
PO_CASE(deadline_with_events)
PO_CASE(deadline_errors)
PO_CASE(deadline_alloc_failure)
PO_CASE(deadline_many_model)
/* t_contract.c */
PO_CASE(destroy_from_callback_refused)
PO_CASE(destroy_deinit_sees_remaining)
PO_CASE(set_socket_during_walk)
PO_CASE(negative_socket_refused)
PO_CASE(unpollable_descriptors)
PO_CASE(deleted_channel_pointer)
/* t_notify.c */
PO_CASE(notify_delivers_in_order)
PO_CASE(notify_full_eagain)
PO_CASE(notify_errors)
PO_CASE(notify_wakes_blocked_wait)
PO_CASE(notify_threads_exactly_once)
PO_CASE(notify_small_capacities)
/* t_api.c */
PO_CASE(api_version_and_exports)
