// A minimal Velero ObjectStore plugin for S3 (moto), for the e2e suite. It stands in for
// velero-plugin-for-aws because no version of github.com/vmware-tanzu/velero-plugin-for-aws
// is served by the module proxy reachable here (403). It registers ObjectStore
// "e2e.local/s3" (BSL provider e2e.local/s3) and reads the same BSL config keys as the AWS
// plugin: region, s3Url, s3ForcePathStyle; credentials come from AWS_SHARED_CREDENTIALS_FILE.
// Built by tests/e2e/build inside the Velero v1.13.2 wrapper module, so its go-plugin,
// Velero framework and aws-sdk-go-v2 versions are exactly Velero v1.13.2's.
package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"
	"github.com/vmware-tanzu/velero/pkg/plugin/framework"
)

type store struct {
	log     logrus.FieldLogger
	client  *s3.Client
	presign *s3.PresignClient
}

func (o *store) Init(cfg map[string]string) error {
	region := cfg["region"]
	if region == "" {
		region = "us-east-1"
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region))
	if err != nil {
		return err
	}
	o.client = s3.NewFromConfig(awsCfg, func(opt *s3.Options) {
		if u := cfg["s3Url"]; u != "" {
			opt.EndpointResolver = s3.EndpointResolverFromURL(u)
		}
		opt.UsePathStyle = cfg["s3ForcePathStyle"] == "true"
	})
	o.presign = s3.NewPresignClient(o.client)
	return nil
}

func (o *store) PutObject(bucket, key string, body io.Reader) error {
	b, err := io.ReadAll(body) // small objects; a seekable body lets the SDK sign the payload over http
	if err != nil {
		return err
	}
	_, err = o.client.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &bucket, Key: &key, Body: bytes.NewReader(b)})
	return err
}

func (o *store) ObjectExists(bucket, key string) (bool, error) {
	_, err := o.client.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &bucket, Key: &key})
	if err == nil {
		return true, nil
	}
	var nf *types.NotFound
	var nk *types.NoSuchKey
	if errors.As(err, &nf) || errors.As(err, &nk) {
		return false, nil
	}
	return false, err
}

func (o *store) GetObject(bucket, key string) (io.ReadCloser, error) {
	out, err := o.client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

func (o *store) list(bucket, prefix, delimiter string) (keys, prefixes []string, err error) {
	in := &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix}
	if delimiter != "" {
		in.Delimiter = &delimiter
	}
	p := s3.NewListObjectsV2Paginator(o.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			return nil, nil, err
		}
		for _, c := range page.Contents {
			keys = append(keys, aws.ToString(c.Key))
		}
		for _, c := range page.CommonPrefixes {
			prefixes = append(prefixes, aws.ToString(c.Prefix))
		}
	}
	return keys, prefixes, nil
}

func (o *store) ListCommonPrefixes(bucket, prefix, delimiter string) ([]string, error) {
	_, prefixes, err := o.list(bucket, prefix, delimiter)
	return prefixes, err
}

func (o *store) ListObjects(bucket, prefix string) ([]string, error) {
	keys, _, err := o.list(bucket, prefix, "")
	return keys, err
}

func (o *store) DeleteObject(bucket, key string) error {
	_, err := o.client.DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &key})
	return err
}

func (o *store) CreateSignedURL(bucket, key string, ttl time.Duration) (string, error) {
	req, err := o.presign.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: &bucket, Key: &key},
		s3.WithPresignExpires(ttl))
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

func main() {
	framework.NewServer().
		BindFlags(pflag.CommandLine).
		RegisterObjectStore("e2e.local/s3", func(log logrus.FieldLogger) (interface{}, error) {
			return &store{log: log}, nil
		}).
		Serve()
}
