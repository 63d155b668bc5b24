package connectors

import "testing"

func TestRedactURLs(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`Get "https://api.example.com/down?api_key=S1&page=2": dial tcp`, `Get "https://api.example.com/down?api_key=[REDACTED]&page=2": dial tcp`},
		{`https://x/y?page=2&access_token=S2#frag`, `https://x/y?page=2&access_token=[REDACTED]#frag`},
		{`https://x/y?X-Amz-Signature=S3&X-Amz-Credential=S4&X-Amz-Date=1`, `https://x/y?X-Amz-Signature=[REDACTED]&X-Amz-Credential=[REDACTED]&X-Amz-Date=1`},
		{`https://x/y?apiKey=S5&clientSecret=S6&sig=S7&pwd=S8`, `https://x/y?apiKey=[REDACTED]&clientSecret=[REDACTED]&sig=[REDACTED]&pwd=[REDACTED]`},
		{`https://x/y?api%5Fkey=S9`, `https://x/y?api%5Fkey=[REDACTED]`},
		{`https://ada:S10@x/y`, `https://ada:[REDACTED]@x/y`},
		{`https://x/y?author=ada&keyword=go&monkey=1`, `https://x/y?author=ada&keyword=go&monkey=1`},
		{`https://x/y?q9=S11`, `https://x/y?q9=[REDACTED]`}, // named by the connection (see below)
		{`no url here`, `no url here`},
	} {
		if got := RedactURLs(c.in, "Q9"); got != c.want {
			t.Errorf("RedactURLs(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}
