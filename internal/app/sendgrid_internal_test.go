package app

import "testing"

func TestProviderIDIsTheXMessageIDInsideSgMessageID(t *testing.T) {
	t.Parallel()
	for sg, want := range map[string]string{
		"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0":                "14c5d75ce93.dfd.64b469",
		"W86EgYT6SQKk0lRflfLRsA.filterdrecv-5645d9c87f-6r4tm-1-64F8A9F1-3.0": "W86EgYT6SQKk0lRflfLRsA",
		"W86EgYT6SQKk0lRflfLRsA.recvd-5f54b5d587-2dt8x-1-62E8C1A5-7.0":       "W86EgYT6SQKk0lRflfLRsA",
		"plain.suffix": "plain",
		"bare":         "bare",
	} {
		t.Run(sg, func(t *testing.T) {
			if got := providerID(sg); got != want {
				t.Errorf("providerID(%q) = %q, want %q", sg, got, want)
			}
		})
	}
}
