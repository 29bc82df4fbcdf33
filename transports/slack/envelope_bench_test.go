package slack

import "testing"

// sampleFrame is a Socket Mode frame of a direct message as Slack sends
// it (the fields of its documentation's example, one message event).
var sampleFrame = []byte(`{"envelope_id":"dbdd0ef3-1543-4f94-bfb4-133d0e6c1545","payload":{"token":"XXYYZZ","team_id":"T0123456789","context_team_id":"T0123456789","context_enterprise_id":null,"api_app_id":"A0123456789","event":{"client_msg_id":"2c3a1f1e-6f7a-4a3e-9f7e-0c1d2e3f4a5b","type":"message","text":"hello there, this is a message of ordinary length","user":"U0123456789","ts":"1733459200.000100","blocks":[{"type":"rich_text","block_id":"abc12","elements":[{"type":"rich_text_section","elements":[{"type":"text","text":"hello there, this is a message of ordinary length"}]}]}],"team":"T0123456789","channel":"D0123456789","event_ts":"1733459200.000100","channel_type":"im"},"type":"event_callback","event_id":"Ev0123456789","event_time":1733459200,"authorizations":[{"enterprise_id":null,"team_id":"T0123456789","user_id":"U0123456788","is_bot":false,"is_enterprise_install":false}],"is_ext_shared_channel":false,"event_context":"4-eyJldCI6Im1lc3NhZ2UiLCJ0aWQiOiJUMDEyMzQ1Njc4OSIsImFpZCI6IkEwMTIzNDU2Nzg5IiwiY2lkIjoiRDAxMjM0NTY3ODkifQ"},"type":"events_api","accepts_response_payload":false,"retry_attempt":0,"retry_reason":""}`)

// BenchmarkDecodeFrame is the decoding of one Socket Mode frame of a
// message, in CPU per frame (the loop does nothing else).
func BenchmarkDecodeFrame(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		f, err := decodeFrame(sampleFrame)
		if err != nil || f.Payload == nil || f.Payload.Event.msg == nil || f.Payload.Event.msg.TS == "" {
			b.Fatalf("%+v %v", f, err)
		}
	}
}
