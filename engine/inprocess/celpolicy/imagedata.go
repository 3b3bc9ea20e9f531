package celpolicy

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/kyverno/kyverno/pkg/cel/libs"
	"github.com/kyverno/sdk/extensions/cel/utils"
	"github.com/kyverno/sdk/extensions/imagedataloader"
)

// imageDataContext is the libs.Context one evaluation's CEL policies read:
// image.GetMetadata goes to a registry through kyverno/sdk's image-data
// loader (the loader Kyverno's controllers use, imagedataloader.New) with
// the evaluation's registry access; every other lookup (resource.Get,
// globalContext, http mocks, generated resources) is answered by Kyverno's
// fake provider, empty, as `kubectl-kyverno apply` answers it without
// --cluster.
//
// Why it exists: Kyverno v1.19.1 builds its controllers' provider
// (libs.NewContextProvider) with the process-wide registry options
// (registryclient.GlobalOptsOrDefault), and a suite runs evaluations with
// different registries, logins and CAs side by side.
type imageDataContext struct {
	libs.Context
	access RegistryAccess
	// ctx bounds every image lookup (the evaluation's client deadline),
	// set by bind before the first lookup. Kyverno's own provider passes
	// context.TODO(): in a cluster the API server's webhook timeout ends a
	// stalled lookup instead.
	ctx     context.Context
	fetcher imagedataloader.Fetcher
}

var _ libs.Context = (*imageDataContext)(nil)

func newImageDataContext(access RegistryAccess) *imageDataContext {
	return &imageDataContext{Context: libs.NewFakeContextProvider(), access: access, ctx: context.Background()}
}

// bind gives the lookups their context; call it before any evaluation.
func (c *imageDataContext) bind(ctx context.Context) error {
	fetcher, err := imagedataloader.New(c.access.SecretLister(), c.access.RemoteOptions(ctx), nil)
	if err != nil {
		return fmt.Errorf("kyverno's image-data loader: %w", err)
	}
	c.ctx, c.fetcher = ctx, fetcher
	return nil
}

// GetImageData implements imagedata.ContextInterface as Kyverno's
// contextProvider.GetImageData does: the loader's data, converted with
// kyverno/sdk's utils.GetValue; errors unchanged (the CEL library wraps
// them as "failed to get image data: <err>").
func (c *imageDataContext) GetImageData(image string, remoteOpts []remote.Option) (map[string]any, error) {
	if c.fetcher == nil {
		return nil, fmt.Errorf("image data for %s: the evaluation was not started (celpolicy.Evaluator.Start)", image)
	}
	data, err := c.fetcher.FetchImageData(c.ctx, image, remoteOpts, nil)
	if err != nil {
		return nil, err
	}
	return utils.GetValue(data.Data())
}

// Clone implements libs.Context; the clone shares the registry access.
func (c *imageDataContext) Clone() libs.Context {
	return &imageDataContext{Context: c.Context.Clone(), access: c.access, ctx: c.ctx, fetcher: c.fetcher}
}
