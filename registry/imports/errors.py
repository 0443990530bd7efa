from django.utils.translation import gettext_lazy as _

from common.exceptions import ApplicationError, ValidationFailed


class ImportFileTooLarge(ApplicationError):
    code = "import_file_too_large"
    http_status = 413
    title = _("File too large")


class ImportFileEmpty(ValidationFailed):
    code = "import_file_empty"
    title = _("Empty file")


class ImportFileUnsupported(ApplicationError):
    code = "import_file_unsupported"
    http_status = 415
    title = _("File type not accepted")
