// TorchArchive: filled by the checkpoint-reader work.
