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
	// ctx bounds every image lookup (the evaluation's client deadline).
	// Kyverno's own provider passes context.TODO(): in a cluster the API
	// server's webhook timeout ends a stalled lookup instead.
	ctx     context.Context
	fetcher imagedataloader.Fetcher
}

var _ libs.Context = (*imageDataContext)(nil)

func newImageDataContext(ctx context.Context, access RegistryAccess) (*imageDataContext, error) {
	fetcher, err := imagedataloader.New(access.SecretLister(), access.RemoteOptions(ctx), nil)
	if err != nil {
		return nil, fmt.Errorf("kyverno's image-data loader: %w", err)
	}
	return &imageDataContext{Context: libs.NewFakeContextProvider(), ctx: ctx, fetcher: fetcher}, nil
}

// GetImageData implements imagedata.ContextInterface as Kyverno's
// contextProvider.GetImageData does: the loader's data, converted with
// kyverno/sdk's utils.GetValue; errors unchanged (the CEL library wraps
// them as "failed to get image data: <err>").
func (c *imageDataContext) GetImageData(image string, remoteOpts []remote.Option) (map[string]any, error) {
	data, err := c.fetcher.FetchImageData(c.ctx, image, remoteOpts, nil)
	if err != nil {
		return nil, err
	}
	return utils.GetValue(data.Data())
}

// Clone implements libs.Context; the clone shares the registry access.
func (c *imageDataContext) Clone() libs.Context {
	return &imageDataContext{Context: c.Context.Clone(), ctx: c.ctx, fetcher: c.fetcher}
}
