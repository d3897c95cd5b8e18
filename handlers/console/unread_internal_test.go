package console

import (
	"testing"

	"switchboard/models"
	"switchboard/store"
)

func TestNewUnreadData(t *testing.T) {
	tests := []struct {
		name      string
		counts    map[models.Channel]int
		cap       int
		wantTotal string
		wantChat  string
		wantNone  bool // chat shows no unread case
	}{
		{"none", map[models.Channel]int{}, 1000, "0", "0", true},
		{"under the cap", map[models.Channel]int{models.ChannelChat: 999}, 1000, "999", "999", false},
		{"a channel at the cap", map[models.Channel]int{models.ChannelChat: 1000, models.ChannelSMS: 1}, 1000, "999+", "999+", false},
		{"channels under the cap, their sum over it", map[models.Channel]int{models.ChannelChat: 2, models.ChannelEmail: 2}, 3, "2+", "2", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newUnreadData(store.UnreadCounts{ByChannel: tt.counts, Cap: tt.cap})
			if d.Total != tt.wantTotal {
				t.Errorf("total %q, want %q", d.Total, tt.wantTotal)
			}
			if len(d.Channels) != 4 || d.Channels[0].Channel != models.ChannelChat {
				t.Fatalf("channels %+v, want the four, chat first", d.Channels)
			}
			if c := d.Channels[0]; c.Count != tt.wantChat || c.None != tt.wantNone {
				t.Errorf("chat %q (none %v), want %q (none %v)", c.Count, c.None, tt.wantChat, tt.wantNone)
			}
		})
	}
}
