//! The convolution's switches between equivalent ways of computing the same values: how many
//! images are unrolled at a time, whether an unrolled block is kept from forward to backward,
//! which product computes the weight gradient, and whether Winograd's algorithm is used. Each
//! rule depends on the layer's shape and the target (and for Winograd the processor's vector
//! width), and is chosen for speed or memory; none changes what is computed.

/// Target size, in f32 values, of one unrolled block of images (1 MB).
pub(crate) const CHUNK_VALUES: usize = 256 * 1024;
/// Whether a training pass keeps its unrolled input for backward instead of unrolling it
/// again: natively, where memory is plentiful (it saves half of im2col's work). In wasm, where a
/// worker's memory is what runs out first, only when the whole batch is one block — the block
/// is there anyway, so keeping it costs nothing (it pays on tfjs-example's last layer, whose
/// runs of three values make unrolling slow). Keeping several blocks was measured slower in wasm
/// too: a 2 MB kept unrolling read back from memory lost to unrolling again from a 43 KB input.
pub(crate) const KEEP_UNROLLED: bool = !cfg!(target_arch = "wasm32");

/// Whether the weight gradient dW = dZ · colsᵀ runs as the broadcast product dWᵀ = cols · dZᵀ
/// (dZ transposed block by block, a row of `filters` values per output pixel) rather than as
/// dot products of long rows. The dot products stream both operands from L2 for every few
/// entries and end each entry in a horizontal sum; the broadcast product keeps a tile of dWᵀ in
/// registers for the whole block, and is faster natively with at least 16 filters (one
/// AVX-512 vector per pixel). The transpose moves `filters` values per pixel against the
/// product's `filters × patch` multiply-adds, so short patches keep the dot products (a first
/// layer's 9: its weight gradient took longer with the transpose). The rule depends on the
/// shape only, never on the machine, so every x86-64 machine sums alike. In wasm the dot products stay (four lanes gain little there).
pub(crate) fn weight_gradient_by_broadcast(filters: usize, patch: usize) -> bool {
    !cfg!(target_arch = "wasm32") && filters >= 16 && patch >= 64
}

/// Whether Winograd's algorithm pays on this machine. Its transforms run four lanes wide; so
/// does the matrix product in wasm and without AVX2, and there the 2.25–4× fewer
/// multiplications win (measured in wasm, per layer). With AVX2 or AVX-512 the product runs
/// 8–16 lanes wide with fused multiply-adds, several times the transforms' pace, and plain
/// im2col trains as fast or faster (measured natively on tfjs-example and the default nets).
pub(crate) fn winograd_pays_here() -> bool {
    super::kernels::product_lanes() <= 4
}
