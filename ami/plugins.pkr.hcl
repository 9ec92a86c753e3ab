# The Packer plugins the AMI build needs. Packer >= 1.7 installs them with
# `packer init ami/plugins.pkr.hcl` (invoke build-ami does it before building
# ami/benchmark-worker.json); packer 1.6 has the amazon builder built in and does not know
# this block, so it is kept apart from the template.
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
