"""A model version's files in the bucket: every file of its directory, each checked against its digest."""

import boto3
import pytest
from moto import mock_aws

from supportpilot.adapters.model_store import S3ModelArtifacts
from supportpilot.learning.ports import ModelArtifactsUnavailable

FILES = {"model.json": b'{"format": "x"}', "weights.bin": b"\x00" * 8, "encoder_weights.bin": b"\x01" * 8}


@pytest.fixture
def artifacts():
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(Bucket="models", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        yield S3ModelArtifacts(s3, "models")


def test_every_file_of_a_model_directory_travels_and_is_checked(artifacts, tmp_path):
    source, target = tmp_path / "source", tmp_path / "target"
    source.mkdir(), target.mkdir()
    for name, content in FILES.items():
        (source / name).write_bytes(content)
    digests = artifacts.upload("V1", source)
    assert set(digests) == set(FILES)
    artifacts.download("V1", target, digests)
    assert {path.name: path.read_bytes() for path in target.iterdir()} == FILES
    with pytest.raises(ModelArtifactsUnavailable, match=r"encoder_weights\.bin is not the file"):
        artifacts.download("V1", target, digests | {"encoder_weights.bin": "0" * 64})


@pytest.mark.parametrize("name", ["../model.json", "/etc/model.json", "sub/model.json", ".."])
def test_a_registered_file_name_outside_the_version_directory_is_refused(artifacts, tmp_path, name):
    with pytest.raises(ModelArtifactsUnavailable, match="outside its directory"):
        artifacts.download("V1", tmp_path, {name: "0" * 64})
    assert not any(tmp_path.iterdir())
