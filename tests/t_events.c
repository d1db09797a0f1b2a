#include "harness.h"

void case_fd_reuse_aba(void) { po_skip("not written"); }
void case_stale_seqn_dropped(void) { po_skip("not written"); }
void case_mod_only_on_change(void) { po_skip("not written"); }
void case_internal_trigger_no_block(void) { po_skip("not written"); }
void case_timeout_reported(void) { po_skip("not written"); }
void case_empty_poller_sleeps(void) { po_skip("not written"); }
void case_backpressure_pool(void) { po_skip("not written"); }
void case_translate_recv(void) { po_skip("not written"); }
void case_translate_notify(void) { po_skip("not written"); }
void case_translate_accept(void) { po_skip("not written"); }
void case_translate_send(void) { po_skip("not written"); }
void case_translate_connect(void) { po_skip("not written"); }
void case_connect_refused_err(void) { po_skip("not written"); }
void case_peer_close_recv_all_bytes(void) { po_skip("not written"); }
void case_peer_close_err_without_recv(void) { po_skip("not written"); }
void case_closed_fd_behind_back(void) { po_skip("not written"); }
void case_regular_file(void) { po_skip("not written"); }
void case_dumb_channel_internal_only(void) { po_skip("not written"); }
void case_socket_set_later(void) { po_skip("not written"); }
void case_socket_changed(void) { po_skip("not written"); }
void case_many_ready_sockets(void) { po_skip("not written"); }
