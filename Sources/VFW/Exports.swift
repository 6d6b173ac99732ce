// The types a program using the VFW library meets, under one import (`import VFW`).

import Imaging
import Models
import TensorCore
import Verify
// The CLIP tokenizer (strings -> token ids) and its error, re-exported whole: `import VFW` gives `CLIPTokenizer`.
@_exported import Tokenizers

/// A dense Float32 tensor (shape + row-major data).
public typealias Tensor = TensorCore.Tensor
/// A decoded image: 8-bit RGB, row-major.
public typealias RGBImage = Imaging.RGBImage
/// A preprocessing pipeline (resize, crop, rescale, mean/std, backend), its presets and text/JSON forms.
public typealias PreprocessSpec = Imaging.PreprocessSpec
/// Which model a set of weights is for.
public typealias ModelDescription = Models.ModelDescription
/// A built model of any family.
public typealias AnyModel = Models.AnyModel
/// Records module outputs by PyTorch module name.
public typealias TapRecorder = Models.TapRecorder
/// The registered model families.
public typealias Families = Models.Families
/// A verification's results: per-tap comparisons, verdict, text / JSON / JUnit renderings.
public typealias VerifyReport = Verify.VerifyReport
/// A reference folder recorded by tools/make_reference.py.
public typealias ReferenceSet = Verify.ReferenceSet
/// Threads and instruction set a model's kernels run with.
public typealias ComputeContext = TensorCore.ComputeContext
