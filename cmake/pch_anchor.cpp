// Anchor translation unit of the frostnas_pch object library; the precompiled
// header is built alongside it and reused by every other target.
