package inprocess

import (
	"fmt"

	"github.com/go-logr/logr"
	imageverifycache "github.com/kyverno/kyverno/pkg/image/verification/cache"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// imageVerifyCache is the cache Kyverno v1.19.1's controllers build with
// --imageVerifyCacheEnabled (cmd/internal: imageverifycache.New with the
// flag on and the flags' defaults, 1000 keys and a TTL of 60m, which 0
// selects). Its key starts with the policy's UID and resourceVersion,
// which the API server gives every policy and a decoded file lacks: each
// policy of the batch gets them here (UID "inprocess/<kind>/<namespace>/<name>",
// resourceVersion "1"), so two policies never share a key, as in a
// cluster. Errors: Kyverno's, when the cache cannot be built.
func imageVerifyCache(loaded loadedPolicies, logger logr.Logger) (imageverifycache.Client, error) {
	var policies []metav1.Object
	for _, p := range loaded.valid {
		policies = append(policies, p)
	}
	policies = append(policies, loaded.cel.Objects()...)
	for _, p := range policies {
		if p.GetUID() == "" {
			kind := "Policy"
			if t, ok := p.(interface{ GetKind() string }); ok && t.GetKind() != "" {
				kind = t.GetKind()
			}
			p.SetUID(types.UID(fmt.Sprintf("inprocess/%s/%s/%s", kind, p.GetNamespace(), p.GetName())))
		}
		if p.GetResourceVersion() == "" {
			p.SetResourceVersion("1")
		}
	}
	c, err := imageverifycache.New(imageverifycache.WithLogger(logger.WithName("imageverifycache")),
		imageverifycache.WithCacheEnableFlag(true), imageverifycache.WithMaxSize(0), imageverifycache.WithTTLDuration(0))
	if err != nil {
		return nil, fmt.Errorf("inprocess: Kyverno's image verify cache: %w", err)
	}
	return c, nil
}
