package access

import (
	"context"
	"testing"
)

func TestActorNamesThePrincipal(t *testing.T) {
	for _, c := range []struct {
		p    Principal
		want string
	}{
		{Principal{}, "anonymous"},
		{Principal{Kind: KindAPIToken}, "api_token"},
		{Principal{Kind: KindUser, ID: "u1", Name: "ada"}, "user:ada"},
		{Principal{Kind: KindMCPKey, ID: "k1"}, "mcp_key:k1"},
	} {
		if got := c.p.Actor(); got != c.want {
			t.Errorf("%+v.Actor() = %q, want %q", c.p, got, c.want)
		}
	}
	ctx := WithPrincipal(context.Background(), Principal{Kind: KindUser, Name: "ada"})
	if PrincipalFrom(ctx).Name != "ada" || PrincipalFrom(context.Background()).Kind != KindAnonymous {
		t.Fatal("principal not carried by the context")
	}
}
