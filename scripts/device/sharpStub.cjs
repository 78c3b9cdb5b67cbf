// Stands in for sharp in the device machine's bench bundle (scripts/device/prepare.sh): sharp's
// native libvips is not carried there, and the benches never decode or encode an image file.
function sharp() {
  throw new Error('sharp is not carried to the device machine: this code path needs it (run it on a full checkout)');
}
module.exports = sharp;
module.exports.default = sharp;
