/*
 * The wepoll bridge's own cases (t_bridge_*.c), each a CTest test named
 * bridge/<case>.  They use the wepoll API directly, linked without polleros.
 */
/* t_bridge_api.c */
BRIDGE_CASE(create_close_errors)
BRIDGE_CASE(ctl_errors)
BRIDGE_CASE(wait_errors)
/* t_bridge_alloc.c */
BRIDGE_CASE(allocator)
/* t_bridge_events.c */
BRIDGE_CASE(level_triggered)
BRIDGE_CASE(mod_changes_interest)
BRIDGE_CASE(oneshot_rearm)
BRIDGE_CASE(closed_while_registered)
BRIDGE_CASE(many_sockets)
BRIDGE_CASE(no_stale_events)
BRIDGE_CASE(connect_success)
BRIDGE_CASE(connect_refused)
BRIDGE_CASE(hangup_and_fin)
BRIDGE_CASE(timeouts)
BRIDGE_CASE(ctl_while_waiting)
BRIDGE_CASE(sleepers_share_level)
BRIDGE_CASE(sleepers_many_ports)
BRIDGE_CASE(sleepers_oneshot)
