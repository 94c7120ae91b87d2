/*
 * session.h - the messages of the agent protocol as the collector speaks
 * them: the one place where generated protobuf-c types meet the
 * collector's own structs (store.h).  conn.c moves bytes and keeps state;
 * this file validates what a message says and builds the answers.
 *
 * Every message from an agent is untrusted: sizes and counts are checked
 * against the limits below before anything is copied, and a message that
 * breaks one is refused whole.
 */
#ifndef POSTURE_SESSION_H
#define POSTURE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "posture/v1/posture.pb-c.h"
#include "store.h"

#define SESSION_PROTOCOL_VERSION 1u

/* Limits on one report; generous for real policies, tight enough to bound memory. */
#define SESSION_MAX_RESULTS 20000
#define SESSION_MAX_EVIDENCE 1000      /* per result */
#define SESSION_MAX_CONTROLS 32        /* frameworks per result */
#define SESSION_MAX_CONTROL_IDS 256    /* ids per framework */
#define SESSION_MAX_POLICIES 256
#define SESSION_MAX_STRING (64u * 1024)

/*
 * Check a Hello and convert its facts; *facts is filled (cleanup with
 * store_facts_cleanup).  PST_E_PROTO with a message for a version this
 * collector does not speak or an oversized field.
 */
int session_hello_facts(const Posture__V1__Hello *h, struct store_facts *facts,
			struct pst_err *e);

/*
 * Check a Report and convert it into a new store_report for agent_id
 * (the certificate's CN).  received_us and wire_bytes are recorded.
 */
int session_report_from_wire(const Posture__V1__Report *w, const char *agent_id,
			     int64_t received_us, size_t wire_bytes, struct store_report **out,
			     struct pst_err *e);

/* Frames to send: a new heap buffer holding one whole frame (header included). */
int session_frame_hello_ack(const char *collector_id, uint64_t last_stored_seq,
			    uint32_t heartbeat_s, uint32_t max_frame, uint8_t **out, size_t *len);
int session_frame_ack(uint64_t seq, uint8_t **out, size_t *len);
int session_frame_heartbeat(int64_t now_us, uint64_t last_seq, uint8_t **out, size_t *len);
int session_frame_error(Posture__V1__Error__Code code, const char *msg, uint8_t **out,
			size_t *len);

#endif
